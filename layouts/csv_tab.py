"""CSV Prediction: upload, check against the signature, predict, download."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import data_grid, placeholder, section
from layouts.ids import Csv
from services.csv_service import CsvCheck, CsvPrediction
from services.files import StoredFile

HIDDEN = {"display": "none"}
SHOWN = {"display": "flex"}


def human_size(size: int) -> str:
    """1536 → "1.5 KB"; 10485760 → "10 MB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def layout(upload_limit_bytes: int) -> html.Div:
    upload = dcc.Upload(
        id=Csv.UPLOAD,
        children=html.Div(
            [
                html.I(className="bi bi-cloud-arrow-up fs-2 d-block mb-1"),
                "Drag and drop a CSV file here, or ",
                html.A("select one", className="link-primary"),
            ]
        ),
        accept=".csv,text/csv",
        multiple=False,
        className="upload-zone",
    )
    limit = dbc.FormText(
        f"Up to {human_size(upload_limit_bytes)} per file. UTF-8, comma, semicolon or tab "
        "separated, with a header row. Columns the model does not use (IDs) are kept."
    )
    actions = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-play-fill me-1"), "Predict from CSV"],
                id=Csv.PREDICT,
                color="primary",
                disabled=True,
                className="me-2",
            ),
            dbc.Button(
                [html.I(className="bi bi-download me-1"), "Download"],
                id=Csv.DOWNLOAD_BUTTON,
                color="success",
                outline=True,
                disabled=True,
            ),
            dcc.Download(id=Csv.DOWNLOAD),
        ],
        className="mt-3",
    )
    progress = dbc.Progress(
        id=Csv.PROGRESS,
        value=100,
        striped=True,
        animated=True,
        label="Scoring…",
        style=HIDDEN,
        className="mt-3",
    )
    return html.Div(
        [
            dcc.Store(id=Csv.PAYLOAD),
            dcc.Store(id=Csv.FILE),
            dcc.Store(id=Csv.RESULT_FILE),
            dcc.Store(id=Csv.REJECTED),
            dcc.Store(id=Csv.LIMIT, data=upload_limit_bytes),
            section(
                "Upload",
                [upload, limit, html.Div(id=Csv.UPLOAD_ERROR, className="mt-2")],
                "file-earmark-spreadsheet",
            ),
            section(
                "Check",
                [dcc.Loading(html.Div(id=Csv.PREVIEW), type="dot"), actions, progress],
                "list-check",
            ),
            section(
                "Predictions",
                html.Div(
                    placeholder("Predictions appear here after Predict from CSV."), id=Csv.RESULT
                ),
                "stars",
            ),
        ]
    )


def too_large(size: int, limit: int) -> dbc.Alert:
    return dbc.Alert(
        f"This file is {human_size(size)}; files up to {human_size(limit)} can be uploaded here. "
        "Split it, or send it to the API (POST text/csv).",
        color="warning",
        className="mb-0",
    )


def _list_line(label: str, names: list[str], color: str) -> html.Li | None:
    if not names:
        return None
    return html.Li([html.Strong(f"{label}: "), ", ".join(names)], className=f"text-{color}")


def check_view(stored: StoredFile, check: CsvCheck) -> html.Div:
    lines = [
        _list_line("Missing required columns", check.missing, "danger"),
        _list_line("Kept as pass-through columns", check.passthrough, "body-secondary"),
        *[html.Li(problem, className="text-danger") for problem in check.problems],
    ]
    verdict = (
        dbc.Alert(
            [
                html.I(className="bi bi-check-circle me-2"),
                "Columns match the model's signature. Ready to predict.",
            ],
            color="success",
            className="py-2",
        )
        if check.ok
        else dbc.Alert(
            "Fix these problems in the file, then upload it again.",
            color="warning",
            className="py-2",
        )
    )
    return html.Div(
        [
            html.P(
                [
                    html.Strong(stored.filename),
                    f" — {check.rows:,} rows, {len(check.columns)} columns: ",
                    html.Code(", ".join(check.columns)),
                ],
                className="mb-2",
            ),
            verdict,
            html.Ul([line for line in lines if line is not None], className="mb-2"),
            data_grid(check.preview, check.columns),
        ],
        className="csv-check",
    )


def prediction_view(prediction: CsvPrediction) -> html.Div:
    result = prediction.result
    summary = (
        f"{result.input_rows:,} rows scored by {result.model} version {result.version} "
        f"in {result.latency_ms / 1000:.2f} s. Download: {prediction.download.filename}"
    )
    return html.Div(
        [
            dbc.Alert([html.I(className="bi bi-check-circle me-2"), summary], color="success"),
            html.P(f"First {min(len(prediction.preview), 100)} rows:", className="small mb-1"),
            data_grid(prediction.preview, prediction.columns),
        ],
        className="csv-result",
    )


def hidden_or_shown(show: bool) -> dict[str, Any]:
    return SHOWN if show else HIDDEN
