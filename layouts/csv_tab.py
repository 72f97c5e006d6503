"""CSV Prediction: upload (streamed, with progress), check, score in the background, download."""

from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import data_grid, model_badge, plural, section, took
from layouts.features import compare, evaluation
from layouts.features.drift_view import drift_view
from layouts.features.explain import file_charts
from layouts.features.jobs import JobPanel
from layouts.features.row_explain import pickable, probabilities_option, row_slot
from layouts.features.snippets import CSV_SNIPPETS
from layouts.ids import Csv, Insight, Page
from services.files.results import DEFAULT_RESULT_FORMAT, RESULT_FORMATS
from services.files.service import FileCheck
from services.files.store import StoredFile, human_size
from services.jobs.record import FROM_CSV, Job
from services.scoring.prediction import PREDICTION_COLUMN
from services.scoring.probabilities import PROBABILITY_PREFIX
from services.scoring.tables import ERROR_COLUMN
from services.scoring.validation import rename_advice

HIDDEN = {"display": "none"}
SHOWN = {"display": "flex"}
NO_RESULT = "Predictions appear here after Predict from CSV."
PANEL = JobPanel(FROM_CSV, NO_RESULT)


def upload_ids() -> str:
    """The IDs ``assets/console.js`` needs for the upload, handed over in the page rather
    than typed again in JavaScript."""
    return json.dumps(
        {
            "input": Csv.FILE_INPUT,
            "progress": Csv.UPLOAD_PROGRESS,
            "error": Csv.UPLOAD_ERROR,
            "rejected": Csv.REJECTED,
            "file": Csv.FILE,
            "openJob": Page.OPEN_JOB,
        }
    )


def layout(upload_limit_bytes: int) -> html.Div:
    """The CSV tab. One piece: its component tree reads top to bottom as the page shows
    it (upload, options, the job panel, the result), and each part is used once."""
    upload = html.Div(
        [
            html.I(className="bi bi-cloud-arrow-up fs-2 d-block mb-1"),
            "Drag and drop a CSV file here, or ",
            html.Span("select one", className="link-primary text-decoration-underline"),
        ],  # assets/console.js adds the file input (Dash has no plain file input)
        id=Csv.UPLOAD,
        className="upload-zone",
        **{"data-limit": str(upload_limit_bytes), "data-upload": upload_ids()},
    )
    limit = dbc.FormText(
        f"Up to {human_size(upload_limit_bytes)} per file, sent straight to the server. UTF-8, "
        "comma, semicolon or tab separated, with a header row. Columns the model does not use "
        "(IDs) are kept; rows with bad values get an error instead of a prediction."
    )
    upload_progress = html.Div(  # dbc.Progress takes no aria-label: assets/05-a11y.js names it
        dbc.Progress(id=Csv.UPLOAD_PROGRESS, value=0, style=HIDDEN, className="mt-2"),
        **{"data-a11y-name": "Upload"},
    )
    result_format = html.Div(
        [
            dbc.Label("Result file", html_for=Csv.RESULT_FORMAT, className="me-3 mb-0"),
            dbc.RadioItems(
                id=Csv.RESULT_FORMAT,
                options=[{"label": f.label, "value": f.name} for f in RESULT_FORMATS.values()],
                value=DEFAULT_RESULT_FORMAT,
                inline=True,
            ),
            dbc.FormText(
                "CSV opens in a spreadsheet; Parquet keeps each column's type for code.",
                className="ms-1",
            ),
        ],
        className="d-flex align-items-center flex-wrap mb-2",
    )
    actions = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-play-fill me-1"), "Predict from CSV"],
                id=Csv.PREDICT,
                color="primary",
                disabled=True,
            ),
        ],
        className="d-flex flex-wrap gap-2 align-items-center",
    )
    options = [result_format, probabilities_option(Insight.CSV_PROBABILITIES)]
    action_bar = html.Div(
        [*options, actions, html.Div(id=Csv.START_ERROR, className="mt-2"), PANEL.live_area()],
        className="action-bar",
    )
    return html.Div(
        [
            html.Div(id=Csv.ACTIVE),
            dcc.Store(id=Csv.FILE, storage_type="session"),  # the upload outlives a reload
            dcc.Store(id=Csv.REJECTED),
            section(
                "Upload",
                [upload, limit, upload_progress, html.Div(id=Csv.UPLOAD_ERROR, className="mt-2")],
                "file-earmark-spreadsheet",
            ),
            section(
                "Check",
                [
                    dcc.Loading(html.Div(id=Csv.PREVIEW), type="dot"),
                    action_bar,
                    html.Div(id=Csv.PREVIEW_GRID, className="mt-3"),
                    CSV_SNIPPETS.layout(),
                ],
                "list-check",
            ),
            section("Predictions", PANEL.result_area(), "stars"),
            compare.csv_section(),
            evaluation.CSV_SECTION.layout(),
        ]
    )


def upload_failed(message: str, hint: str | None) -> dbc.Alert:
    """The server's (or the browser's) reason an upload did not arrive; the file before it,
    if any, stays the one checked below."""
    body = [html.Strong("The file was not uploaded"), html.Div(message, className="mt-1")]
    if hint:
        body.append(html.Div(hint, className="small mt-1"))
    return dbc.Alert(body, color="warning", className="mb-0")


def too_large(size: int, limit: int) -> dbc.Alert:
    return dbc.Alert(
        f"This file is {human_size(size)}; files up to {human_size(limit)} can be uploaded. "
        "Split it into smaller files, or ask the administrator to raise UPLOAD_LIMIT_MB.",
        color="warning",
        className="mb-0",
    )


def _list_line(label: str, names: list[str], color: str) -> html.Li | None:
    if not names:
        return None
    return html.Li([html.Strong(f"{label}: "), ", ".join(names)], className=f"text-{color}")


SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def check_view(stored: StoredFile, check: FileCheck) -> html.Div:
    """What the file is and whether it fits the model (the grid of its first rows is
    ``preview_grid``, below the action bar)."""
    lines = [
        _list_line("Missing required columns", check.missing, "danger"),
        html.Li(rename_advice(check.renames), className="text-danger") if check.renames else None,
        _list_line("Kept as pass-through columns", check.passthrough, "body-secondary"),
        *[html.Li(problem, className="text-warning-emphasis") for problem in check.problems],
    ]
    if not check.ok:
        verdict = dbc.Alert(
            "Rename the misspelt columns or add the missing ones, then upload the file again."
            if check.renames
            else "Add the missing columns to the file, then upload it again.",
            color="warning",
            className="py-2",
        )
    elif check.problems:
        verdict = dbc.Alert(
            f"Some of the first {plural(check.checked_rows, 'row')} have bad values: those rows "
            "will get an error instead of a prediction. The rest is scored. Row numbers count "
            "the header as row 1, as a spreadsheet does.",
            color="info",
            className="py-2",
        )
    else:
        verdict = dbc.Alert(
            [
                html.I(className="bi bi-check-circle me-2"),
                "Columns match the model's signature. Ready to predict.",
            ],
            color="success",
            className="py-2",
        )
    separator = SEPARATOR_NAMES.get(check.separator, repr(check.separator))
    return html.Div(
        [
            html.P(
                [
                    html.Strong(stored.filename),
                    f" — {plural(check.rows, 'row')}, {plural(len(check.columns), 'column')}, "
                    f"{human_size(stored.size)}, {separator}-separated: ",
                    html.Code(", ".join(check.columns)),
                ],
                className="mb-2",
            ),
            verdict,
            html.Ul([line for line in lines if line is not None], className="mb-2"),
        ],
        className="csv-check",
    )


def preview_grid(check: FileCheck) -> html.Div:
    return html.Div(
        [
            html.P(
                f"First {plural(len(check.preview), 'row')} of the file:", className="small mb-1"
            ),
            data_grid(check.preview, check.columns),
        ]
    )


def prediction_view(job: Job) -> html.Div:
    """A finished CSV job: what was scored by which version, its downloads, the charts
    counted while scoring, drift, and the first rows of the result."""
    summary, result, detail = job.summary or {}, job.result or {}, job.detail or {}
    rows, failed = summary.get("input_rows") or 0, summary.get("failed_rows") or 0
    said = [
        html.I(className="bi bi-check-circle me-2"),
        f"{job.source_name}: {plural(rows, 'row')} scored by ",
        model_badge(job.model, job.version, job.ref, job.alias),
        f" in {took(summary.get('seconds'))}.",
    ]
    children: list[Any] = [dbc.Alert(said, color="success"), downloads(job)]
    if failed:
        children.append(
            dbc.Alert(
                f"{plural(failed, 'row')} could not be scored: "
                f"{'its' if failed == 1 else 'their'} prediction is empty and the 'error' "
                "column says why.",
                color="warning",
            )
        )
    preview = detail.get("preview") or []
    children += [
        file_charts(result.get("distribution"), result.get("confidence"), result.get("labels")),
        drift_view(result.get("drift")),
        html.P(
            f"First {plural(len(preview), 'row')} of the result (pick one to see why):",
            className="small mb-1",
        ),
        pickable(data_grid(preview, answer_first(detail.get("columns") or [])), Insight.CSV_GRID),
        row_slot(Insight.CSV_ROW),
    ]
    return html.Div(children, className="csv-result")


def answer_first(columns: list[str]) -> list[str]:
    """The preview's columns with what the model said (predictions, probabilities, error)
    first: on a narrow screen the grid scrolls sideways, and the answer must not be the part
    out of sight. The downloaded file keeps the input's order."""
    answer = [c for c in columns if _is_answer(c)]
    return answer + [c for c in columns if not _is_answer(c)]


def _is_answer(column: str) -> bool:
    return column in (PREDICTION_COLUMN, ERROR_COLUMN) or column.startswith(
        (f"{PREDICTION_COLUMN}_", PROBABILITY_PREFIX)
    )


def downloads(job: Job) -> html.Div:
    """One button per result file written, the format asked for first."""
    files = (job.result or {}).get("files") or {}
    ordered = sorted(files.items(), key=lambda item: item[0] != job.format)
    buttons = [
        html.A(
            [html.I(className="bi bi-download me-1"), f"Download {stored['filename']}"],
            id=Csv.DOWNLOAD_BUTTON if place == 0 else f"{Csv.DOWNLOAD_BUTTON}-{fmt}",
            href=f"api/files/{stored['file_id']}",
            className="btn btn-success" if place == 0 else "btn btn-outline-success",
            role="button",
        )
        for place, (fmt, stored) in enumerate(ordered)
    ]
    return html.Div(buttons, className="d-flex flex-wrap gap-2 mb-3")


def hidden_or_shown(show: bool) -> dict[str, Any]:
    return SHOWN if show else HIDDEN
