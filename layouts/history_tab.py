"""Prediction History: this browser session's last predictions."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import section
from layouts.ids import History

COLUMNS = ("Time (UTC)", "Source", "Model", "Version", "Rows", "Latency", "Output")


def layout() -> html.Div:
    clear = dbc.Button(
        [html.I(className="bi bi-trash me-1"), "Clear history"],
        id=History.CLEAR,
        color="secondary",
        outline=True,
        size="sm",
        className="mt-3",
    )
    return section(
        "Last 5 predictions in this browser session",
        [html.Div(id=History.LIST), clear],
        "clock-history",
    )


def history_table(entries: list[dict[str, Any]]) -> Any:
    if not entries:
        return html.P("No predictions yet in this session.", className="text-body-secondary mb-0")
    rows = [
        html.Tr(
            [
                html.Td(entry["time"].replace("T", " ").replace("+00:00", "")),
                html.Td(dbc.Badge(entry["source"], color="info")),
                html.Td(entry["model"]),
                html.Td(entry["version"] + (f" @{entry['alias']}" if entry.get("alias") else "")),
                html.Td(f"{entry['rows']:,}"),
                html.Td(f"{entry['latency_ms']} ms"),
                html.Td(html.Code(entry["preview"])),
            ]
        )
        for entry in entries
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(c) for c in COLUMNS])), html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 history-table",
    )
