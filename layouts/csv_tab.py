"""CSV Prediction: upload (streamed, with progress), check, score in the background, download."""

from __future__ import annotations

import json
import uuid
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import compare
from layouts.components import data_grid, model_badge, placeholder, plural, section
from layouts.drift_view import drift_view
from layouts.explain import file_charts
from layouts.ids import Csv, Insight
from layouts.row_explain import pickable, probabilities_option, row_slot
from services.files.results import DEFAULT_RESULT_FORMAT, RESULT_FORMATS
from services.files.service import FileCheck, Progress, ScoredFile
from services.files.store import StoredFile, human_size

HIDDEN = {"display": "none"}
SHOWN = {"display": "flex"}
DOWNLOAD_READY = "btn btn-success"
DOWNLOAD_WAITING = "btn btn-outline-success disabled"
JOB_RUNNING, JOB_STOPPED = "running", "stopped"


def watch_seconds(stall_seconds: int) -> float:
    """How often a running job's silence is checked: a few times within the stall time."""
    return min(15.0, stall_seconds / 3)


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
        }
    )


def layout(upload_limit_bytes: int, stall_seconds: int) -> html.Div:
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
    upload_progress = dbc.Progress(id=Csv.UPLOAD_PROGRESS, value=0, style=HIDDEN, className="mt-2")
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
            dbc.Button(
                [html.I(className="bi bi-x-circle me-1"), "Cancel"],
                id=Csv.CANCEL,
                color="secondary",
                outline=True,
                disabled=True,
            ),
            html.A(
                [html.I(className="bi bi-download me-1"), "Download"],
                id=Csv.DOWNLOAD_BUTTON,
                className=DOWNLOAD_WAITING,
                role="button",
            ),
        ],
        className="d-flex flex-wrap gap-2 align-items-center",
    )
    progress = html.Div(
        [
            dbc.Progress(id=Csv.PROGRESS, value=0, striped=True, animated=True),
            html.Small(id=Csv.PROGRESS_TEXT, className="text-body-secondary"),
            html.Div(id=Csv.STALL),
            dcc.Interval(
                id=Csv.WATCHDOG, interval=watch_seconds(stall_seconds) * 1000, disabled=True
            ),
        ],
        id=Csv.PROGRESS_BOX,
        style=HIDDEN,
        className="mt-2 flex-column gap-1",
    )
    options = [result_format, probabilities_option(Insight.CSV_PROBABILITIES)]
    action_bar = html.Div([*options, actions, progress], className="action-bar")
    return html.Div(
        [
            html.Div(id=Csv.ACTIVE),
            dcc.Store(id=Csv.FILE),
            dcc.Store(id=Csv.RESULT_FILE),
            dcc.Store(id=Csv.REJECTED),
            dcc.Store(id=Csv.PAGE_LOAD, data=uuid.uuid4().hex),  # names this page's jobs
            dcc.Store(id=Csv.JOB_STATE),
            dcc.Store(id=Csv.CANCELLED_RUN),
            dcc.Store(id=Csv.WATCH_SEEN),
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
                ],
                "list-check",
            ),
            section(
                "Predictions",
                html.Div(
                    placeholder("Predictions appear here after Predict from CSV."), id=Csv.RESULT
                ),
                "stars",
            ),
            compare.csv_section(),
        ]
    )


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
        _list_line("Kept as pass-through columns", check.passthrough, "body-secondary"),
        *[html.Li(problem, className="text-warning-emphasis") for problem in check.problems],
    ]
    if not check.ok:
        verdict = dbc.Alert(
            "Add the missing columns to the file, then upload it again.",
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


def stalled(silent_seconds: float) -> dbc.Alert:
    silence = (
        f"{silent_seconds / 60:.0f} minutes" if silent_seconds >= 120 else f"{silent_seconds:.0f} s"
    )
    return dbc.Alert(
        f"No progress for {silence}. A slow model may just need longer on this file. If "
        "nothing moves, the worker running the job may be gone: press Cancel (reload the page "
        "if the bar stays), then Predict from CSV again; tell the administrator if it repeats.",
        color="warning",
        className="mt-2 mb-0 py-2",
    )


def progress_label(progress: Progress) -> str:
    eta = progress.eta_seconds
    remaining = f", about {eta:.0f} s left" if eta is not None else ""
    return f"{progress.done:,} / {progress.total:,} rows{remaining}"


def prediction_view(scored: ScoredFile, ref: str | None, file_name: str) -> html.Div:
    failed = scored.failed_rows
    summary = [
        html.I(className="bi bi-check-circle me-2"),
        f"{file_name}: {plural(scored.rows, 'row')} scored by ",
        model_badge(scored.model, scored.version, ref, scored.alias),
        f" in {scored.seconds:.2f} s. Download gives {scored.output.filename} "
        "(switch the result file format to get the other without scoring again).",
    ]
    children: list[Any] = [dbc.Alert(summary, color="success")]
    if failed:
        children.append(
            dbc.Alert(
                f"{plural(failed, 'row')} could not be scored: "
                f"{'its' if failed == 1 else 'their'} prediction is empty and the 'error' "
                "column says why.",
                color="warning",
            )
        )
    children += [
        file_charts(scored.distribution, scored.confidence, scored.labels),
        drift_view(scored.drift),
        html.P(
            f"First {plural(len(scored.preview), 'row')} of the result (pick one to see why):",
            className="small mb-1",
        ),
        pickable(data_grid(scored.preview, scored.columns), Insight.CSV_GRID),
        row_slot(Insight.CSV_ROW),
    ]
    return html.Div(children, className="csv-result")


def running_badge() -> Any:
    """In the header while a file is being scored, whichever tab is open."""
    return dbc.Badge(
        [dbc.Spinner(size="sm", spinner_class_name="me-1"), "Scoring a file…"],
        color="warning",
        text_color="dark",
    )


def hidden_or_shown(show: bool) -> dict[str, Any]:
    return SHOWN if show else HIDDEN
