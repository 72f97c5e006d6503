"""Page-wide callbacks: who is signed in, the session's model in the header, the theme, the
URL that follows the person (and the link to copy), and an alias that moved since its
version was loaded."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, no_update

from callbacks.config_tab import versions_to_choose
from layouts.ids import Config, Page
from layouts.page import alias_moved, header_model, signed_in
from layouts.selection import Selection
from services.access.audit import Source
from services.access.caller import MODE_NONE
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.wiring import ConsoleServices


class PageCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.settings = services.settings
        self.registry = services.registry

    def show_user(self, path: str | None) -> list[Any]:
        """Who the server says this is: the one identity every model access runs as."""
        if self.settings.auth_mode == MODE_NONE:
            return signed_in(None)
        return signed_in(current_caller().user)

    def show_session_model(self, selection: Any) -> list[Any]:
        return header_model(Selection.from_store(selection))

    def watch_alias(self, ticks: int | None, selection: Any, shown: Any) -> tuple[Any, Any]:
        """The loaded alias, resolved again (at most ``ALIAS_CACHE_SECONDS`` old): a move is
        said, with a button to load its new target, and the version list follows it."""
        loaded = Selection.from_store(selection)
        if loaded is None or loaded.alias is None:
            return None, no_update
        try:
            model = self.registry.model_detail(current_caller(), loaded.name, Source.UI)
        except ConsoleError:
            return no_update, no_update  # Load Model says what is wrong, when it is pressed
        now = model.summary.aliases.get(loaded.alias)
        if now is None or now == loaded.version:
            return None, no_update
        options = versions_to_choose(model.summary.aliases, model.versions)
        notice = alias_moved(loaded.alias, now, loaded.version)
        return notice, (options if options != shown else no_update)

    def switch(self, clicks: int | None, selection: Any, loads: int | None) -> tuple:
        """Load the alias's new target: the pickers set to it, Load Model pressed."""
        loaded = Selection.from_store(selection)
        if not clicks or loaded is None or loaded.alias is None:
            return no_update, no_update, no_update
        return loaded.name, loaded.alias, (loads or 0) + 1


def register(app: dash.Dash, services: ConsoleServices) -> PageCallbacks:
    callbacks = PageCallbacks(services)
    app.callback(
        output=Output(Page.USER, "children"),
        # the path, not the query: the page rewrites its query, and who this is stays
        inputs={"path": Input(Page.URL, "pathname")},
    )(callbacks.show_user)
    app.callback(
        output=Output(Page.HEADER_MODEL, "children"),
        inputs={"selection": Input(Page.SELECTION, "data")},
    )(callbacks.show_session_model)
    app.callback(
        output=[
            Output(Page.ALIAS_NOTICE, "children"),
            Output(Config.VERSION, "options", allow_duplicate=True),
        ],
        inputs={"ticks": Input(Page.ALIAS_TICK, "n_intervals")},
        state={
            "selection": State(Page.SELECTION, "data"),
            "shown": State(Config.VERSION, "options"),
        },
        prevent_initial_call=True,
    )(callbacks.watch_alias)
    app.callback(
        output=[
            Output(Config.MODEL, "value", allow_duplicate=True),
            Output(Config.VERSION, "value", allow_duplicate=True),
            Output(Config.LOAD, "n_clicks", allow_duplicate=True),
        ],
        inputs={"clicks": Input(Page.SWITCH_VERSION, "n_clicks")},
        state={
            "selection": State(Page.SELECTION, "data"),
            "loads": State(Config.LOAD, "n_clicks"),
        },
        prevent_initial_call=True,
    )(callbacks.switch)
    _wire_in_the_browser(app)
    return callbacks


def _wire_in_the_browser(app: dash.Dash) -> None:
    """What the page does without the server: the theme, the URL read and written, the
    link copied (assets/console.js)."""
    app.clientside_callback(
        ClientsideFunction("modelConsole", "applyTheme"),
        Output(Page.THEME_DUMMY, "children"),
        Input(Page.THEME_SWITCH, "value"),
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "readUrl"),
        Output(Page.URL_ASKED, "data"),
        Input(Page.URL, "search"),
    )
    # The URL's tab opens in the browser, before the server has answered anything: its model
    # loads meanwhile, and the URL is written once the whole of it is shown.
    app.clientside_callback(
        ClientsideFunction("modelConsole", "openTab"),
        Output(Page.TABS, "active_tab", allow_duplicate=True),
        Input(Page.URL_ASKED, "data"),
        State(Page.URL_TABS, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "writeUrl"),
        Output(Page.URL_WRITTEN, "children"),
        Input(Page.SELECTION, "data"),
        Input(Page.TABS, "active_tab"),
        Input(Page.OPEN_JOB, "data"),
        State(Page.URL_READ, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "copyLink"),
        Output(Page.COPY_LINK, "title"),
        Input(Page.COPY_LINK, "n_clicks"),
        State(Page.COPY_LINK, "id"),
        prevent_initial_call=True,
    )
