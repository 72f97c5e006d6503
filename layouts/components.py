"""Small building blocks the tabs share: alerts, JSON blocks, grids, fact lists."""

from __future__ import annotations

import json
import re
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from services.errors import ConsoleError

GRID_ROWS_SHOWN = 100
AUTO_HEIGHT_ROWS = 12


def error_alert(error: ConsoleError) -> dbc.Alert:
    """What went wrong and what to do, in the same words the API uses."""
    body: list[Any] = [html.Strong(error.title), html.Div(error.message, className="mt-1")]
    if error.hint:
        body.append(html.Div(error.hint, className="small mt-1"))
    color = "warning" if error.http_status < 500 else "danger"
    return dbc.Alert(body, color=color, className="mb-0 error-alert")


def json_block(value: Any) -> dcc.Markdown:
    """Pretty, highlighted JSON. The fence is longer than any backtick run inside it."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return dcc.Markdown(f"{fence}json\n{text}\n{fence}", className="json-block")


def data_grid(records: list[dict[str, Any]], columns: list[str], **grid: Any) -> dag.AgGrid:
    """A read-only grid; field names are taken literally (a dot is not a nested path)."""
    rows = records[:GRID_ROWS_SHOWN]
    short = len(rows) <= AUTO_HEIGHT_ROWS
    options: dict[str, Any] = {"suppressFieldDotNotation": True}
    if short:
        options["domLayout"] = "autoHeight"
    return dag.AgGrid(
        rowData=rows,
        columnDefs=[{"field": str(c), "headerName": str(c)} for c in columns],
        defaultColDef={"resizable": True, "sortable": True, "flex": 1, "minWidth": 110},
        dashGridOptions=options,
        style=None if short else {"height": "420px"},
        className="result-grid",
        **grid,
    )


def facts(items: list[tuple[str, Any]]) -> html.Dl:
    """A definition list of label → value pairs, skipping empty values."""
    children: list[Any] = []
    for label, value in items:
        if value in (None, "", []):
            continue
        children += [html.Dt(label, className="col-sm-3"), html.Dd(value, className="col-sm-9")]
    return html.Dl(children, className="row mb-0 facts")


def key_value_table(rows: dict[str, str], headers: tuple[str, str]) -> dbc.Table | html.P:
    if not rows:
        return html.P("None.", className="text-body-secondary small mb-0")
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(headers[0]), html.Th(headers[1])])),
            html.Tbody([html.Tr([html.Td(k), html.Td(v)]) for k, v in sorted(rows.items())]),
        ],
        size="sm",
        striped=True,
        className="mb-0",
    )


def section(title: str, body: Any, icon: str) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader([html.I(className=f"bi bi-{icon} me-2"), title]), dbc.CardBody(body)],
        className="mb-3 shadow-sm",
    )


def placeholder(message: str) -> html.P:
    return html.P(message, className="text-body-secondary mb-0")
