"""Compare with: a second version or alias on the same rows, in the JSON and CSV tabs. Both
answers side by side, the agreement, disagreeing rows first and highlighted, a crosstab of
classes or a scatter of numbers."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import header_width, placeholder, plural, section
from layouts.features.jobs import JobPanel
from layouts.features.monitor_charts import crosstab_chart, scatter_chart
from layouts.features.snippets import COMPARE_FILE_SNIPPETS
from layouts.ids import Compare
from services.compare.files import AGREE_COLUMN, label_column, prediction_column
from services.compare.service import ComparedVersion, Comparison
from services.jobs.record import FROM_COMPARE, Job
from services.registry.labels import label_of

GRID_ROWS = 1_000
NO_COMPARISON = (
    "Both versions predict the same rows; rows where they disagree come first. "
    "Each version is checked and audited for you on its own."
)
FILE_PANEL = JobPanel(FROM_COMPARE, NO_COMPARISON)
DISAGREE_CLASS = "compare-disagree"
# ag-grid evaluates this expression for each row: a row the versions disagree on is marked
ROW_RULES = {DISAGREE_CLASS: f"params.data.{AGREE_COLUMN} === false"}


def _picker(dropdown: str, buttons: list[Any]) -> html.Div:
    choose = dcc.Dropdown(
        id=dropdown, clearable=False, placeholder="a version or alias", className="compare-with"
    )
    return html.Div(
        [
            dbc.Label("Compare the loaded version with", html_for=dropdown, className="mb-1"),
            html.Div(
                [html.Div(choose, className="flex-grow-1"), *buttons],
                className="d-flex flex-wrap gap-2 align-items-center",
            ),
        ],
        className="mb-2",
    )


def _button(button_id: str, text: str, outline: bool = False, disabled: bool = False) -> dbc.Button:
    """A Compare button starts as its Predict does (a clientside callback mirrors it after)."""
    return dbc.Button(
        [html.I(className="bi bi-layout-split me-1"), text],
        id=button_id,
        color="primary",
        outline=outline,
        disabled=disabled,
    )


def _result(result_id: str) -> dcc.Loading:
    return dcc.Loading(html.Div(placeholder(NO_COMPARISON), id=result_id), type="dot")


def json_section() -> dbc.Card:
    """In the JSON tab: compare on the editor's rows or the form's row."""
    buttons = [
        _button(Compare.JSON_RUN, "Compare JSON input", disabled=True),  # as JSON Predict
        _button(Compare.FORM_RUN, "Compare form input", outline=True),
    ]
    body = [_picker(Compare.JSON_WITH, buttons), _result(Compare.JSON_RESULT)]
    return section("Compare versions", body, "layout-split")


def csv_section() -> dbc.Card:
    """In the CSV tab: compare on the uploaded file (a job, with progress and Cancel)."""
    button = _button(Compare.CSV_RUN, "Compare on this file")
    body = [
        _picker(Compare.CSV_WITH, [button]),
        html.Div(id=Compare.CSV_ERROR),
        COMPARE_FILE_SNIPPETS.layout(),
        FILE_PANEL.layout(),
    ]
    return section("Compare versions", body, "layout-split")


def options(aliases: dict[str, str], versions: list[str], loaded: str) -> tuple[list, str | None]:
    """Aliases then versions, without the loaded version; the default: Challenger when
    Champion is loaded, else Champion (else the newest other version)."""
    choices = [
        {"label": f"@{a} (version {v})", "value": a}
        for a, v in sorted(aliases.items())
        if v != loaded
    ]
    choices += [{"label": f"version {v}", "value": v} for v in versions if v != loaded]
    values = [c["value"] for c in choices]
    default = next((ref for ref in ("Challenger", "Champion") if ref in values), None)
    return choices, default or (values[0] if values else None)


def _headline(
    versions: list[ComparedVersion], rows: int, agreement: float | None, disagreeing: int
) -> html.Div:
    names = " vs ".join(v.name for v in versions)
    rate = "—" if agreement is None else f"{agreement:.1%}"
    colour = "success" if not disagreeing else "warning"
    return html.Div(
        [
            html.Span(f"{names} on {plural(rows, 'row')}", className="me-3"),
            dbc.Badge(
                f"{rate} agree",
                color=colour,
                # dark text on the warning's yellow: white on it fails AA contrast
                text_color="dark" if disagreeing else None,
                className="fs-6 me-2 compare-agreement",
            ),
            dbc.Badge(f"{plural(disagreeing, 'row')} disagree", color="light", text_color="dark"),
        ],
        className="d-flex align-items-center flex-wrap gap-1 mb-2 compare-headline",
    )


def _columns_note(shared: list[str], differing: dict[str, list[str]], versions) -> Any:
    if not differing:
        return None
    by_ref = {v.ref: v.name for v in versions}
    only = "; ".join(
        f"only {by_ref[ref]} uses {', '.join(cols)}" for ref, cols in differing.items()
    )
    return dbc.Alert(
        [
            html.I(className="bi bi-info-circle me-2"),
            f"The signatures differ: {only}. Each "
            f"version took the columns it needs; both use {', '.join(shared) or 'none'}.",
        ],
        color="info",
        className="py-2 compare-columns",
    )


def _chart(
    tally_kind: str,
    crosstab: dict | None,
    versions,
    answers: list[list[Any]],
    difference: float | None,
) -> Any:
    first, second = versions[0].name, versions[1].name
    if tally_kind == "numbers":
        text = "—" if difference is None else f"{difference:,.4g}"
        return html.Div(
            [
                html.P(["Mean absolute difference: ", html.Strong(text)]),
                scatter_chart(answers[0], answers[1], (first, second)),
            ]
        )
    return crosstab_chart(crosstab, first, second) if crosstab else None


RECORD = "(record)"  # a JSON comparison's record number: a name no input column is likely to have


def _headers(columns: list[str], versions: list[ComparedVersion]) -> list[dict[str, Any]]:
    """The answers first, named by version, then the inputs: visible without scrolling."""
    named = {RECORD: "record"}
    for version in versions:
        named[prediction_column(version)] = version.name
        named[label_column(version)] = f"{version.name} class"
    named[AGREE_COLUMN] = "agree"
    first = [c for c in named if c in columns]
    return [
        {
            "field": c,
            "headerName": named.get(c, c),
            "pinned": "left" if c in named else None,
            "minWidth": header_width(named.get(c, c)),
        }
        for c in first + [c for c in columns if c not in named]
    ]


def grid(
    records: list[dict[str, Any]], columns: list[str], versions: list[ComparedVersion]
) -> dag.AgGrid:
    """The rows with each version's answer; disagreeing rows highlighted."""
    return dag.AgGrid(
        rowData=records[:GRID_ROWS],
        columnDefs=_headers(columns, versions),
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "flex": 1,
            "cellDataType": False,
        },
        dashGridOptions={
            "suppressFieldDotNotation": True,
            "pagination": len(records) > 20,
            "paginationPageSize": 20,
            "paginationPageSizeSelector": False,
            "domLayout": "autoHeight",
        },
        rowClassRules=ROW_RULES,
        className="result-grid compare-grid",
    )


def comparison_view(comparison: Comparison, inputs: list[dict[str, Any]] | None) -> html.Div:
    """A JSON comparison: disagreeing rows first."""
    body = comparison.to_dict()
    versions, tally = comparison.versions, comparison.tally
    answers = [comparison.predictions[v.ref] for v in versions]
    rows, shown, disagreeing = [], inputs or [], set(tally.disagreements)
    for index in range(comparison.rows):
        # the inputs of the first rows only (the callback shows that many)
        # counted from 1, as a person counts the records they sent
        record = {**(shown[index] if index < len(shown) else {}), RECORD: index + 1}
        for version, values in zip(versions, answers, strict=True):
            record[prediction_column(version)] = _labelled(values[index], version.labels)
        record[AGREE_COLUMN] = index not in disagreeing
        rows.append(record)
    rows.sort(key=lambda r: r[AGREE_COLUMN])  # False first: disagreements on top
    columns = list(rows[0].keys()) if rows else []
    return html.Div(
        [
            _headline(versions, comparison.rows, tally.agreement, tally.disagreeing),
            _columns_note(comparison.shared_columns, comparison.differing_columns, versions),
            _chart(
                comparison.kind,
                body.get("crosstab"),
                versions,
                answers,
                body.get("mean_absolute_difference"),
            ),
            grid(rows, columns, versions),
        ],
        className="compare-result",
    )


def compared_file_view(job: Job) -> html.Div:
    """A finished comparison of a file (from its job's record)."""
    result, detail = job.result or {}, job.detail or {}
    labels = detail.get("labels")
    versions = [
        ComparedVersion(v["ref"], v["version"], None, [], labels)
        for v in result.get("versions") or []
    ]
    stored = (result.get("files") or {}).get("csv") or result.get("result_file") or {}
    link = html.A(
        [html.I(className="bi bi-download me-1"), f"Download {stored.get('filename')}"],
        href=f"api/files/{stored.get('file_id')}",
        className="btn btn-outline-success btn-sm mb-2",
    )
    preview = detail.get("preview") or []
    preview_note = html.P(
        f"First {plural(len(preview), 'row')}, disagreeing rows first:", className="small mb-1"
    )
    crosstab = result.get("crosstab")
    return html.Div(
        [
            _headline(
                versions,
                result.get("rows") or 0,
                result.get("agreement"),
                result.get("disagreeing_rows") or 0,
            ),
            _columns_note(
                result.get("shared_columns") or [], result.get("differing_columns") or {}, versions
            ),
            _chart(
                "classes" if crosstab else "numbers",
                crosstab,
                versions,
                [[r.get(prediction_column(v)) for r in preview] for v in versions],
                result.get("mean_absolute_difference"),
            ),
            link,
            preview_note,
            grid(preview, detail.get("columns") or [], versions),
        ],
        className="compare-result",
    )


def _labelled(value: Any, labels: dict[str, str] | None) -> Any:
    name = label_of(labels, value)
    return f"{value} · {name}" if name else _cell(value)


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
