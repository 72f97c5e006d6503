"""Model Configuration: fill the pickers, load a model, remember it for this session."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx, no_update

from callbacks.common import show_error
from layouts.config_tab import details, loaded_message
from layouts.ids import Config, Page
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput
from services.registry.client import LATEST
from services.wiring import ConsoleServices


def with_typed(options: list[Any], *extra: str | None) -> list[Any]:
    """Dropdown options plus what the user typed, so any name or alias can be chosen."""
    values = {o["value"] if isinstance(o, dict) else o for o in options}
    return options + [value for value in dict.fromkeys(extra) if value and value not in values]


class ConfigCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.registry = services.registry
        self.loader = services.scoring.loader

    def model_options(self, _: str, typed: str | None, current: str | None) -> list[Any]:
        try:
            names = [model.name for model in self.registry.list_models(current_caller())]
        except ConsoleError:
            names = []  # the Load button reports what is wrong
        return with_typed(names, typed, current)

    def version_options(self, name: str | None, typed: str | None, current: str | None) -> list:
        try:
            options = self._versions(name) if name else []
        except ConsoleError:
            options = []
        return with_typed(options, typed, current)

    def _versions(self, name: str) -> list[dict[str, str]]:
        model = self.registry.model_detail(current_caller(), name, Source.UI)
        aliases = [
            {"label": f"{alias} → version {version}", "value": alias}
            for alias, version in sorted(model.summary.aliases.items())
        ]
        latest = [{"label": f"latest → version {model.versions[0].version}", "value": LATEST}]
        versions = [
            {"label": f"{v.version} · {v.status} · {v.created[:10]}", "value": v.version}
            for v in model.versions
        ]
        return aliases + (latest if model.versions else []) + versions

    def load(
        self,
        _: int | None,
        __: str,
        name: str | None,
        ref: str | None,
        selection: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        if ctx.triggered_id != Config.LOAD:  # page load: this session's model, else the default
            if selection:
                name, ref = selection["name"], selection["ref"]
            elif not name:
                return (no_update,) * 5
        if not name:
            error = InvalidInput("Choose a model first.", hint="Pick one or type its full name.")
            return show_error(error), None, no_update, no_update, no_update
        ref = (ref or LATEST).strip()
        caller = current_caller()
        try:
            detail = self.registry.version_detail(caller, name, ref, Source.UI)
            model = self.registry.model_detail(caller, name, Source.UI)
            self.loader.load(caller, name, ref)  # so the first prediction does not wait for it
        except ConsoleError as error:
            return show_error(error), None, no_update, no_update, no_update
        chosen = {
            "name": detail.resolved.name,
            "ref": ref,
            "version": detail.resolved.version,
            "alias": detail.resolved.alias,
        }
        return loaded_message(detail), details(detail, model), chosen, name, ref


def register(app: dash.Dash, services: ConsoleServices) -> ConfigCallbacks:
    callbacks = ConfigCallbacks(services)
    app.callback(
        Output(Config.MODEL, "options"),
        Input(Page.URL, "pathname"),
        Input(Config.MODEL, "search_value"),
        State(Config.MODEL, "value"),
    )(callbacks.model_options)
    app.callback(
        Output(Config.VERSION, "options"),
        Input(Config.MODEL, "value"),
        Input(Config.VERSION, "search_value"),
        State(Config.VERSION, "value"),
    )(callbacks.version_options)
    app.callback(
        Output(Config.STATUS, "children"),
        Output(Config.DETAILS, "children"),
        Output(Page.SELECTION, "data"),
        Output(Config.MODEL, "value"),
        Output(Config.VERSION, "value"),
        Input(Config.LOAD, "n_clicks"),
        Input(Page.URL, "pathname"),
        State(Config.MODEL, "value"),
        State(Config.VERSION, "value"),
        State(Page.SELECTION, "data"),
    )(callbacks.load)
    return callbacks
