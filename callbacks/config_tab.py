"""Model Configuration: fill the pickers, load a model, remember it for this session."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from layouts.components import error_alert
from layouts.config_tab import (
    details,
    environment_section,
    loaded_message,
    not_loaded,
    still_using,
)
from layouts.csv_tab import hidden_or_shown
from layouts.explain import importance_view
from layouts.ids import Config, Page, Tab
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import (
    ConsoleError,
    InvalidInput,
    ModelCannotLoad,
    ModelNotFound,
    VersionNotFound,
)
from services.registry.client import LATEST
from services.wiring import ConsoleServices

SUGGESTS = {ModelNotFound: "model", VersionNotFound: "version"}


def with_typed(options: list[Any], *extra: str | None) -> list[Any]:
    """Dropdown options plus what the user typed, so any name or alias can be chosen."""
    values = {o["value"] if isinstance(o, dict) else o for o in options}
    return options + [value for value in dict.fromkeys(extra) if value and value not in values]


def load_failed(error: ConsoleError, selection: dict[str, Any] | None) -> html.Div:
    """The error (its suggestions clickable), and that the loaded model stays."""
    return html.Div([error_alert(error, SUGGESTS.get(type(error))), still_using(selection)])


class ConfigCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.registry = services.registry
        self.loader = services.scoring.loader
        self.explain = services.explain

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
        """Load Model: the picked model becomes this session's one active model. A failed
        load changes nothing (the card, the header and every prediction keep the model that
        was loaded). On page load: this session's model, else the preselected one."""
        if ctx.triggered_id != Config.LOAD:
            if selection:
                name, ref = selection["name"], selection["ref"]
            elif not name:
                return (no_update,) * 5
        if not name:
            error = InvalidInput("Choose a model first.", hint="Pick one or type its full name.")
            return load_failed(error, selection), no_update, no_update, no_update, no_update
        ref = (ref or LATEST).strip()
        caller = current_caller()
        try:
            detail = self.registry.version_detail(caller, name, ref, Source.UI)
            model = self.registry.model_detail(caller, name, Source.UI)
            self.loader.load(caller, name, ref)  # so the first prediction does not wait for it
        except ConsoleError as error:
            failed = self.failure_view(error, selection, name, ref)
            return failed, no_update, no_update, no_update, no_update
        chosen = {
            "name": detail.resolved.name,
            "ref": ref,
            "version": detail.resolved.version,
            "alias": detail.resolved.alias,
        }
        return loaded_message(detail, ref), details(detail, model), chosen, name, ref

    def failure_view(
        self, error: ConsoleError, selection: dict[str, Any] | None, name: str, ref: str
    ) -> html.Div:
        """Where Load Model was pressed: the error, and for a model that cannot load, its
        environment (what it was logged with, what is missing here)."""
        failed = load_failed(error, selection)
        if not isinstance(error, ModelCannotLoad):
            return failed
        try:
            detail = self.registry.version_detail(current_caller(), name, ref, Source.UI)
        except ConsoleError:
            return failed
        return html.Div(
            [failed, html.Div(environment_section(detail.environment), className="mt-3")]
        )

    def pending(self, name: str | None, ref: str | None, selection: dict | None) -> Any:
        return not_loaded(name, ref, selection)

    def choose_suggestion(
        self, clicks: list[int | None], loads: int | None
    ) -> tuple[Any, Any, Any]:
        """A "did you mean" button: pick it and load it."""
        chosen = ctx.triggered_id
        if not chosen or not any(clicks):
            return no_update, no_update, no_update
        load = (loads or 0) + 1
        if chosen["field"] == "model":
            return chosen["value"], no_update, load
        return no_update, chosen["value"], load

    def next_steps(self, selection: dict[str, Any] | None) -> dict[str, str]:
        return hidden_or_shown(bool(selection))

    def importance(self, selection: dict[str, Any] | None) -> Any:
        """The loaded model's global feature importance (a chart, or why there is none)."""
        if not selection:
            return None
        try:
            found = self.explain.importance(
                current_caller(), selection["name"], str(selection["version"]), Source.UI
            )
        except ConsoleError as error:
            return importance_view(error.message)
        return importance_view(found.to_dict())

    def go_to(self, _: int | None, __: int | None) -> Any:
        return Tab.JSON if ctx.triggered_id == Config.GO_JSON else Tab.CSV


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
    app.callback(
        Output(Config.PENDING, "children"),
        Input(Config.MODEL, "value"),
        Input(Config.VERSION, "value"),
        Input(Page.SELECTION, "data"),
    )(callbacks.pending)
    app.callback(
        Output(Config.MODEL, "value", allow_duplicate=True),
        Output(Config.VERSION, "value", allow_duplicate=True),
        Output(Config.LOAD, "n_clicks"),
        Input({"type": Config.SUGGESTION, "field": ALL, "value": ALL}, "n_clicks"),
        State(Config.LOAD, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.choose_suggestion)
    app.callback(Output(Config.NEXT, "style"), Input(Page.SELECTION, "data"))(callbacks.next_steps)
    app.callback(Output(Config.IMPORTANCE, "children"), Input(Page.SELECTION, "data"))(
        callbacks.importance
    )
    app.callback(
        Output(Page.TABS, "active_tab"),
        Input(Config.GO_JSON, "n_clicks"),
        Input(Config.GO_CSV, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.go_to)
    return callbacks
