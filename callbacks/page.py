"""Page-wide callbacks: the header shows this session's model; the theme switch."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output

from layouts.ids import Page
from layouts.page import header_model, signed_in
from services.access.caller import MODE_NONE
from services.access.identity import current_caller
from services.wiring import ConsoleServices


def register(app: dash.Dash, services: ConsoleServices) -> None:
    @app.callback(Output(Page.USER, "children"), Input(Page.URL, "pathname"))
    def show_user(_: str) -> list[Any]:
        """Who the server says this is: the one identity every model access runs as."""
        if services.settings.auth_mode == MODE_NONE:
            return signed_in(None)
        return signed_in(current_caller().user)

    @app.callback(Output(Page.HEADER_MODEL, "children"), Input(Page.SELECTION, "data"))
    def show_session_model(selection: dict[str, Any] | None) -> list[Any]:
        return header_model(selection)

    app.clientside_callback(
        ClientsideFunction("modelConsole", "applyTheme"),
        Output(Page.THEME_DUMMY, "children"),
        Input(Page.THEME_SWITCH, "value"),
    )
