"""Small building blocks the tabs share: alerts, the model badge, JSON blocks, grids, facts."""

from __future__ import annotations

import json
import re
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.ids import suggestion
from layouts.selection import Selection
from services.errors import ConsoleError

GRID_ROWS_SHOWN = 10_000
AUTO_HEIGHT_ROWS = 12
PAGE_ROWS = 100


def took(seconds: float | None) -> str:
    """How long something took: ``15.2 s``; ``under 0.1 s`` rather than ``0.0 s`` (or than
    nothing, when it was not measured)."""
    return f"{seconds:.1f} s" if seconds and seconds >= 0.05 else "under 0.1 s"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def model_badge(name: str, version: str, ref: str | None = None, alias: str | None = None) -> Any:
    """One way everywhere to say which model: its name, its version, and the alias (or
    ``latest``) it was loaded by."""
    parts: list[Any] = [
        html.Strong(breakable_name(name), className="model-name"),
        dbc.Badge(f"v{version}", color="secondary", className="ms-1"),
    ]
    reached_by = f"@{alias}" if alias else ("latest" if (ref or "").lower() == "latest" else None)
    if reached_by:
        parts.append(dbc.Badge(reached_by, color="info", className="ms-1"))
    return html.Span(parts, className="model-badge")


def breakable_name(name: str) -> list[Any]:
    """``catalog.schema.model`` with a line-break opportunity after each dot, so a narrow
    screen wraps it between its parts rather than inside a word."""
    parts: list[Any] = []
    for index, part in enumerate(name.split(".")):
        if index:
            parts += [".", html.Wbr()]
        parts.append(part)
    return parts if len(parts) > 1 else [name]


def selection_badge(selection: Selection | None) -> Any:
    if selection is None:
        return html.Span("No model loaded", className="text-body-secondary")
    return model_badge(selection.name, selection.version, selection.ref, selection.alias)


def error_alert(error: ConsoleError, suggest: str | None = None) -> dbc.Alert:
    """What went wrong and what to do, in the same words the API uses. With ``suggest``
    (``model`` or ``version``) the error's suggestions are buttons that choose them."""
    body: list[Any] = [html.Strong(error.title), html.Div(error.message, className="mt-1")]
    if error.hint:
        body.append(html.Div(error.hint, className="small mt-1"))
    if suggest and error.suggestions:
        body.append(
            html.Div(
                [html.Span("Choose: ", className="small me-1")]
                + [
                    dbc.Button(
                        value,
                        id=suggestion(suggest, value),
                        size="sm",
                        color="link",
                        className="suggestion p-0 me-2",
                    )
                    for value in error.suggestions
                ],
                className="mt-1",
            )
        )
    color = "warning" if error.http_status < 500 else "danger"
    return dbc.Alert(body, color=color, className="mb-0 error-alert")


def progress_bar(percent: int, name: str, label: str | None = None) -> html.Div:
    """Bootstrap's progress bar with its accessible name and value (dbc.Progress takes no
    ``aria-label``)."""
    percent = max(0, min(100, int(percent or 0)))
    return html.Div(
        html.Div(
            label if label is not None else f"{percent} %",
            className="progress-bar progress-bar-striped progress-bar-animated",
            style={"width": f"{percent}%"},
        ),
        className="progress",
        role="progressbar",
        **{
            "aria-label": name,
            "aria-valuenow": str(percent),
            "aria-valuemin": "0",
            "aria-valuemax": "100",
        },
    )


def show_error(error: ConsoleError) -> html.Div:
    """An error where a result would be."""
    return html.Div(error_alert(error))


def json_block(value: Any) -> dcc.Markdown:
    """Pretty, highlighted JSON. The fence is longer than any backtick run inside it."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return code_block(text, "json")


def code_block(text: str, language: str) -> dcc.Markdown:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return dcc.Markdown(f"{fence}{language}\n{text}\n{fence}", className="json-block")


ALL_COLUMNS_DRAWN = 40  # wider tables draw the columns in view (AG Grid's default)
# A column is at least as wide as its name (AG Grid cuts a header to "prediction_l…"), within
# bounds: px per character of the header's font, and its padding with the sort arrow.
COLUMN_PX, WIDEST_HEADER_PX, HEADER_CHAR_PX, HEADER_PADDING_PX = 110, 320, 8, 48


def data_grid(records: list[dict[str, Any]], columns: list[str], **grid: Any) -> dag.AgGrid:
    """A read-only grid showing cells as they are (a text cell in a number column is shown
    as its text); field names are taken literally (a dot is not a nested path); pages of
    ``PAGE_ROWS`` for long tables."""
    rows = records[:GRID_ROWS_SHOWN]
    short = len(rows) <= AUTO_HEIGHT_ROWS
    options: dict[str, Any] = {"suppressFieldDotNotation": True}
    if len(columns) <= ALL_COLUMNS_DRAWN:
        # every column in the page, off screen too: a screen reader reads the row whole,
        # and at 420 px the grid does not wait for a scroll to draw the inputs
        options["suppressColumnVirtualisation"] = True
    if short:
        options["domLayout"] = "autoHeight"
    if len(rows) > PAGE_ROWS:
        options |= {
            "pagination": True,
            "paginationPageSize": PAGE_ROWS,
            "paginationPageSizeSelector": False,
        }
    return dag.AgGrid(
        rowData=rows,
        columnDefs=[
            {"field": str(c), "headerName": str(c), "minWidth": header_width(str(c))}
            for c in columns
        ],
        defaultColDef={"resizable": True, "sortable": True, "flex": 1, "cellDataType": False},
        dashGridOptions=options,
        style=None if short else {"height": "460px"},
        className="result-grid",
        **grid,
    )


def header_width(name: str) -> int:
    """A grid column's least width: its name whole."""
    return min(WIDEST_HEADER_PX, max(COLUMN_PX, HEADER_CHAR_PX * len(name) + HEADER_PADDING_PX))


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
        responsive=True,
        className="mb-0",
    )


def section(title: str, body: Any, icon: str) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader([html.I(className=f"bi bi-{icon} me-2"), title]), dbc.CardBody(body)],
        className="mb-3 shadow-sm",
    )


def placeholder(message: str) -> html.P:
    return html.P(message, className="text-body-secondary mb-0")


def active_model_line(selection: Selection | None, verb: str) -> Any:
    """At the top of a tab: which model its predictions go to."""
    if selection is None:
        return dbc.Alert(
            "No model is loaded: pick one in Model Configuration and press Load Model.",
            color="light",
            className="py-2 mb-3",
        )
    return html.Div(
        [html.Span(f"{verb} ", className="me-1"), selection_badge(selection)],
        className="active-model mb-3",
    )
