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
from layouts.features.explain import importance_view
from layouts.ids import Config, Page, Promote, Tab
from layouts.page import PageState, page_state
from layouts.selection import Selection
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
UNCHANGED = {
    key: no_update
    for key in (
        "status",
        "details",
        "selection",
        "model",
        "version",
        "versions",
        "tab",
        "job",
        "read",
    )
}


def with_typed(options: list[Any], *extra: str | None) -> list[Any]:
    """Dropdown options plus what the user typed, so any name or alias can be chosen."""
    values = {o["value"] if isinstance(o, dict) else o for o in options}
    return options + [value for value in dict.fromkeys(extra) if value and value not in values]


def versions_to_choose(aliases: dict[str, str], versions: list[Any]) -> list[dict[str, str]]:
    """Aliases, ``latest`` and versions, each found by what a person types for it (its
    number, its name): typing 2 must not find version 1 by the 2 in its date. (The dropdown
    searches a label too unless it is a component.)"""
    named = [
        {"label": html.Span(f"{alias} → version {version}"), "value": alias, "search": alias}
        for alias, version in sorted(aliases.items())
    ]
    latest = [
        {
            "label": html.Span(f"latest → version {versions[0].version}"),
            "value": LATEST,
            "search": LATEST,
        }
    ]
    numbered = [
        {
            "label": html.Span(f"{v.version} · {v.status} · {v.created[:10]}"),
            "value": v.version,
            "search": v.version,
        }
        for v in versions
    ]
    return named + (latest if versions else []) + numbered


def shows(asked: PageState, selection: Selection | None, tab: str | None, job: str | None) -> bool:
    """Whether the page already shows what the URL asks for."""
    model = (selection.name, selection.ref) if selection else (None, None)
    return (
        bool(asked.model)
        and (asked.model, asked.ref) == model
        and asked.tab == tab
        and asked.job == job
    )


def load_failed(error: ConsoleError, selection: Selection | None) -> html.Div:
    """The error (its suggestions clickable), and that the loaded model stays."""
    return html.Div([error_alert(error, SUGGESTS.get(type(error))), still_using(selection)])


class ConfigCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.registry = services.registry
        self.loader = services.scoring.loader
        self.explain = services.explain

    def model_options(
        self, path: str | None, typed: str | None, loaded: Any, current: str | None
    ) -> list:
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
        return versions_to_choose(model.summary.aliases, model.versions)

    def load(
        self,
        clicks: int | None,
        search: str | None,
        name: str | None,
        ref: str | None,
        selection: Any,
        tab: str | None = None,
        job: str | None = None,
        url_read: bool | None = None,
    ) -> dict[str, Any]:
        """Load Model: the picked model becomes this session's one active model. A failed
        load changes nothing (the card, the header and every prediction keep the model that
        was loaded). On opening a URL (a link, a reload, back and forward): the model,
        version and job it names, else this session's model, else the preselected one (its
        tab opens in the browser at once, without waiting for the model: ``openTab`` in
        assets/console.js)."""
        loaded = Selection.from_store(selection)
        if ctx.triggered_id == Config.LOAD:
            return self._pressed(name, ref, loaded)
        if search is None:
            return UNCHANGED  # the page has not read its URL yet: it will, in a moment
        asked = page_state(search)
        if url_read and shows(asked, loaded, tab, job):  # back or forward to what it shows
            return UNCHANGED
        # the first read (a reload, a link) fills the card, even for the session's own model
        opened = {"job": asked.job, "read": True}
        if asked.model:
            name, ref = asked.model, asked.ref
        elif loaded is not None:
            name, ref = loaded.name, loaded.ref
        elif not name:
            return {**UNCHANGED, **opened}
        loaded_or_refused = self._loaded_or_refused(name, ref, loaded, named=bool(asked.model))
        return {**UNCHANGED, **opened, **loaded_or_refused}

    def _pressed(self, name: str | None, ref: str | None, loaded: Selection | None) -> dict:
        if not name:
            error = InvalidInput("Choose a model first.", hint="Pick one or type its full name.")
            return {**UNCHANGED, "status": load_failed(error, loaded)}
        return {**UNCHANGED, **self._loaded_or_refused(name, ref, loaded, named=True)}

    def _loaded_or_refused(
        self, name: str, ref: str | None, loaded: Selection | None, named: bool
    ) -> dict[str, Any]:
        """A model the person named (the button, a link) and refused is said where they can
        see it; the preselected one refused only says so in its own tab."""
        ref = (ref or LATEST).strip()
        try:
            return self._load(name, ref)
        except ConsoleError as error:
            refused = {"status": self.failure_view(error, loaded, name, ref)}
            return {**refused, **({"tab": Tab.CONFIG} if named else {})}

    def _load(self, name: str, ref: str) -> dict[str, Any]:
        caller = current_caller()
        detail = self.registry.version_detail(caller, name, ref, Source.UI)
        model = self.registry.model_detail(caller, name, Source.UI)
        self.loader.load(caller, name, ref)  # so the first prediction does not wait for it
        chosen = Selection(
            detail.resolved.name, ref, detail.resolved.version, detail.resolved.alias
        )
        card, versions = _card(detail, model, ref)
        return {
            "status": loaded_message(detail, ref),
            "details": card,
            "selection": chosen.to_store(),
            "model": detail.resolved.name,
            "version": ref,
            "versions": versions,
        }

    def after_move(self, changed: Any, selection: Any) -> tuple[Any, Any]:
        """An alias moved here (a promotion, a rollback, a deletion): the card and the
        version list say where the aliases point now. The version in use stays the one
        loaded; the promotion panel says when its alias has moved on."""
        loaded = Selection.from_store(selection)
        if loaded is None:
            return no_update, no_update
        try:
            caller = current_caller()
            detail = self.registry.version_detail(caller, loaded.name, loaded.version, Source.UI)
            model = self.registry.model_detail(caller, loaded.name, Source.UI)
        except ConsoleError:
            return no_update, no_update  # the card keeps what it showed; the panel says why
        return _card(detail, model, loaded.ref)

    def failure_view(
        self, error: ConsoleError, selection: Selection | None, name: str, ref: str
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

    def pending(self, name: str | None, ref: str | None, selection: Any) -> Any:
        return not_loaded(name, ref, Selection.from_store(selection))

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

    def next_steps(self, selection: Any) -> dict[str, str]:
        return hidden_or_shown(Selection.from_store(selection) is not None)

    def importance(self, selection: Any) -> Any:
        """The loaded model's global feature importance (a chart, or why there is none)."""
        model = Selection.from_store(selection)
        if model is None:
            return None
        try:
            found = self.explain.importance(current_caller(), model.name, model.version, Source.UI)
        except ConsoleError as error:
            return importance_view(error.message)
        return importance_view(found.to_dict())

    def go_to(self, to_json: int | None, to_csv: int | None) -> Any:
        return Tab.JSON if ctx.triggered_id == Config.GO_JSON else Tab.CSV


def register(app: dash.Dash, services: ConsoleServices) -> ConfigCallbacks:
    callbacks = ConfigCallbacks(services)
    _wire_choice(app, callbacks)
    _wire_load(app, callbacks)
    _wire_loaded(app, callbacks)
    return callbacks


def _card(detail: Any, model: Any, ref: str) -> tuple[Any, list[Any]]:
    """The version's card and the version list (``ref`` kept in it), from one read of each."""
    versions = versions_to_choose(model.summary.aliases, model.versions)
    return details(detail, model), with_typed(versions, ref)


def _wire_choice(app: dash.Dash, callbacks: ConfigCallbacks) -> None:
    """Choosing a model and a version: the options as typed, and the suggestions offered
    when a name or reference does not exist."""
    app.callback(
        output=Output(Config.MODEL, "options"),
        # on opening (the path: the page rewrites its query), as the name is typed, and once a
        # model is loaded (so that it is among the options, however long the list)
        inputs={
            "path": Input(Page.URL, "pathname"),
            "typed": Input(Config.MODEL, "search_value"),
            "loaded": Input(Page.SELECTION, "data"),
        },
        state={"current": State(Config.MODEL, "value")},
    )(callbacks.model_options)
    app.callback(
        output=Output(Config.VERSION, "options"),
        inputs={
            "name": Input(Config.MODEL, "value"),
            "typed": Input(Config.VERSION, "search_value"),
        },
        state={"current": State(Config.VERSION, "value")},
    )(callbacks.version_options)
    app.callback(
        output=[
            Output(Config.MODEL, "value", allow_duplicate=True),
            Output(Config.VERSION, "value", allow_duplicate=True),
            Output(Config.LOAD, "n_clicks"),
        ],
        inputs={
            "clicks": Input({"type": Config.SUGGESTION, "field": ALL, "value": ALL}, "n_clicks")
        },
        state={"loads": State(Config.LOAD, "n_clicks")},
        prevent_initial_call=True,
    )(callbacks.choose_suggestion)


def _wire_load(app: dash.Dash, callbacks: ConfigCallbacks) -> None:
    """Load Model, or a link's query: the selection every tab reads, and whether the choice
    on screen differs from it."""
    app.callback(
        output={
            "status": Output(Config.STATUS, "children"),
            "details": Output(Config.DETAILS, "children"),
            "selection": Output(Page.SELECTION, "data"),
            "model": Output(Config.MODEL, "value"),
            "version": Output(Config.VERSION, "value"),
            "versions": Output(Config.VERSION, "options", allow_duplicate=True),
            "tab": Output(Page.TABS, "active_tab", allow_duplicate=True),
            "job": Output(Page.OPEN_JOB, "data", allow_duplicate=True),
            "read": Output(Page.URL_READ, "data"),
        },
        inputs={
            "clicks": Input(Config.LOAD, "n_clicks"),
            "search": Input(Page.URL_ASKED, "data"),
        },
        state={
            "name": State(Config.MODEL, "value"),
            "ref": State(Config.VERSION, "value"),
            "selection": State(Page.SELECTION, "data"),
            "tab": State(Page.TABS, "active_tab"),
            "job": State(Page.OPEN_JOB, "data"),
            "url_read": State(Page.URL_READ, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )(callbacks.load)
    app.callback(
        output=[
            Output(Config.DETAILS, "children", allow_duplicate=True),
            Output(Config.VERSION, "options", allow_duplicate=True),
        ],
        inputs={"changed": Input(Promote.CHANGED, "data")},
        state={"selection": State(Page.SELECTION, "data")},
        prevent_initial_call=True,
    )(callbacks.after_move)
    app.callback(
        output=Output(Config.PENDING, "children"),
        inputs={
            "name": Input(Config.MODEL, "value"),
            "ref": Input(Config.VERSION, "value"),
            "selection": Input(Page.SELECTION, "data"),
        },
    )(callbacks.pending)


def _wire_loaded(app: dash.Dash, callbacks: ConfigCallbacks) -> None:
    """What a loaded model offers: the next steps, its feature importance, and the buttons
    that open the tabs to predict with it."""
    selection = Input(Page.SELECTION, "data")
    app.callback(output=Output(Config.NEXT, "style"), inputs={"selection": selection})(
        callbacks.next_steps
    )
    app.callback(output=Output(Config.IMPORTANCE, "children"), inputs={"selection": selection})(
        callbacks.importance
    )
    app.callback(
        output=Output(Page.TABS, "active_tab"),
        inputs={
            "to_json": Input(Config.GO_JSON, "n_clicks"),
            "to_csv": Input(Config.GO_CSV, "n_clicks"),
        },
        prevent_initial_call=True,
    )(callbacks.go_to)
