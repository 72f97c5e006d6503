"""Page-wide callbacks: the header shows this session's model; the theme switch."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output

from layouts.ids import Page
from layouts.page import header_model


def register(app: dash.Dash) -> None:
    @app.callback(Output(Page.HEADER_MODEL, "children"), Input(Page.SELECTION, "data"))
    def show_session_model(selection: dict[str, Any] | None) -> list[Any]:
        return header_model(selection)

    app.clientside_callback(
        ClientsideFunction("modelConsole", "applyTheme"),
        Output(Page.THEME_DUMMY, "children"),
        Input(Page.THEME_SWITCH, "value"),
    )
