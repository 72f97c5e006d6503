"""A row picked in a result grid (JSON batch, CSV result) is explained under the grid.

The row's values come from the page, like any input a person types; the explanation runs
as the server's caller, with the caller's own permission check and audit record."""

from __future__ import annotations

import functools
from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from layouts.components import show_error
from layouts.features.row_explain import picked_view
from layouts.ids import Insight, Page
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.explain.service import ExplainService
from services.wiring import ConsoleServices


class RowCallbacks:
    def __init__(self, explain: ExplainService) -> None:
        self.explain = explain

    def pick(self, rows: Any, selection: Any, source: Source) -> Any:
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
            raise PreventUpdate  # nothing picked (or the pick was cleared)
        try:
            model = Selection.required(selection)
            explanation, labels = self.explain.explained_row(
                current_caller(), model.name, model.version, rows[0], source
            )
        except ConsoleError as error:
            return show_error(error)
        return picked_view(explanation, labels)


def register(app: dash.Dash, services: ConsoleServices) -> RowCallbacks:
    callbacks = RowCallbacks(services.explain)
    for grid, slot, source in (
        (Insight.JSON_GRID, Insight.JSON_ROW, Source.JSON),
        (Insight.CSV_GRID, Insight.CSV_ROW, Source.CSV),
    ):
        app.callback(
            output=Output(slot, "children"),
            inputs={"rows": Input(grid, "selectedRows")},
            state={"selection": State(Page.SELECTION, "data")},
            prevent_initial_call=True,
        )(functools.partial(callbacks.pick, source=source))
    return callbacks
