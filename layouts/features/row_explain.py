"""A row picked in a result grid (a JSON batch, a CSV result's first rows) explained: the
grid lets one row be picked, the slot under it shows that row's waterfall."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from layouts.components import placeholder
from layouts.features.explain import explanation_view
from services.registry.labels import label_of
from services.scoring.probabilities import PROBABILITY_PREFIX

PICK_A_ROW = "Pick a row in the table to see why the model answered it so."
PROBABILITIES_HELP = (
    "One probability_<class> column per class, in the model's class order, and a "
    "histogram of how sure the model was. Rows that could not be scored get none."
)


# shown to three decimals (the file keeps every digit); empty for a row with none
SHORT_PROBABILITY = {"function": "params.value == null ? '' : d3.format('.3f')(params.value)"}


def pickable(grid: dag.AgGrid, grid_id: str) -> dag.AgGrid:
    """The grid with one row at a time selectable by a click (``selectedRows``)."""
    grid.id = grid_id
    grid.columnDefs = [
        {**c, "valueFormatter": SHORT_PROBABILITY}
        if c["field"].startswith(PROBABILITY_PREFIX)
        else c
        for c in grid.columnDefs
    ]
    grid.dashGridOptions = {
        **(grid.dashGridOptions or {}),
        "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
    }
    return grid


def row_slot(slot_id: str) -> html.Div:
    return html.Div(placeholder(PICK_A_ROW), id=slot_id, className="mt-3 row-explanation")


def picked_view(explanation: dict[str, Any] | str, labels: dict[str, str] | None) -> Any:
    """The picked row's answer and its waterfall, or why there is none."""
    if isinstance(explanation, str):
        return explanation_view(explanation)
    row = explanation["rows"][0]
    name = label_of(labels, row["prediction"])
    answer = f"{row['prediction']} · {name}" if name else str(row["prediction"])
    sure = f" ({row['probability']:.1%})" if row.get("probability") is not None else ""
    head = html.Div(["Picked row: ", html.Strong(answer + sure)], className="mb-1")
    return html.Div([head, explanation_view(explanation)])


def probabilities_option(checkbox_id: str) -> html.Div:
    return html.Div(
        [
            dbc.Checkbox(id=checkbox_id, label="Add class probabilities", value=False),
            dbc.FormText(PROBABILITIES_HELP, className="ms-1"),
        ],
        className="d-flex align-items-center flex-wrap gap-2 mb-2",
    )
