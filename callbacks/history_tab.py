"""Prediction History: show this session's last predictions; clear them."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from layouts.history_tab import history_table
from layouts.ids import History
from services.history import latest


def show_history(history: list[dict[str, Any]] | None) -> Any:
    return history_table(latest(history))


def clear_history(_: int) -> list:
    return []


def register(app: dash.Dash) -> None:
    app.callback(Output(History.LIST, "children"), Input(History.STORE, "data"))(show_history)
    app.callback(
        Output(History.STORE, "data", allow_duplicate=True),
        Input(History.CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )(clear_history)
