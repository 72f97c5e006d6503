"""Drift of one scored file against the training reference: which columns moved, by how
much, and whether there were enough rows to say so."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import plural
from layouts.features.monitor_charts import drift_bars

HEADERS = ("column", "PSI", "outside training range", "unseen", "missing")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _headline(drift: dict[str, Any]) -> dbc.Alert:
    rows = plural(drift["rows"], "row")
    if drift["indicative"]:
        return dbc.Alert(
            [
                html.I(className="bi bi-hourglass-split me-2"),
                html.Strong("Indicative only: "),
                f"{rows} scored, fewer than {drift['min_rows']}. Drift on so few rows is mostly "
                "noise, so no column is flagged.",
            ],
            color="secondary",
            className="py-2 drift-headline",
        )
    if drift["flagged"]:
        return dbc.Alert(
            [
                html.I(className="bi bi-exclamation-triangle-fill me-2"),
                html.Strong(f"Drift in {', '.join(drift['flagged'])}: "),
                f"what was scored ({rows}) differs from the training reference there "
                f"(PSI above {drift['threshold']:g}).",
            ],
            color="warning",
            className="py-2 drift-headline",
        )
    return dbc.Alert(
        [
            html.I(className="bi bi-check-circle me-2"),
            f"No drift: the {rows} scored look like the training reference (every PSI at most "
            f"{drift['threshold']:g}).",
        ],
        color="success",
        className="py-2 drift-headline",
    )


def _table(drift: dict[str, Any]) -> dbc.Table:
    header = html.Thead(html.Tr([html.Th(h) for h in HEADERS]))
    rows = []
    for column in drift["columns"]:
        psi = "—" if column["psi"] is None else f"{column['psi']:.3f}"
        unseen = _percent(column.get("unseen")) if column["kind"] == "text" else ""
        outside = _percent(column.get("outside_range")) if column["kind"] == "number" else ""
        cells = [column["column"], psi, outside, unseen, _percent(column["missing"])]
        marked = "table-warning" if column["flagged"] else None
        rows.append(html.Tr([html.Td(c) for c in cells], className=marked))
    return dbc.Table(
        [header, html.Tbody(rows)],
        size="sm",
        striped=True,
        responsive=True,
        className="mb-0 drift-table",
    )


def drift_view(drift: dict[str, Any] | None) -> Any:
    """None when the model has neither training reference nor input example."""
    if not drift:
        return None
    reference = drift.get("reference") or {}
    note = (
        f"Against the {reference.get('source', 'reference')} ({reference.get('rows', 0):,} rows)."
    )
    return html.Div(
        [
            html.H2([html.I(className="bi bi-activity me-2"), "Drift"], className="h6 mt-3"),
            _headline(drift),
            drift_bars(drift, drift["threshold"]),
            _table(drift),
            html.P(note, className="small text-body-secondary mt-1"),
        ],
        className="drift-view",
    )
