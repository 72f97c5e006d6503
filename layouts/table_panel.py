"""The "Score a table" panel of the CSV tab: an uploaded file, a path or a catalog table,
scored as a table job on this server or on Spark, with progress, Cancel and a summary."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import plural, section
from layouts.ids import Table

POLL_MS = 1000
THIS_SERVER, SPARK = "local", "spark"


def layout(spark_configured: bool) -> html.Div:
    run_on = html.Div(
        [
            dbc.Label("Run on", html_for=Table.RUN_ON, className="me-3 mb-0"),
            dbc.RadioItems(
                id=Table.RUN_ON,
                options=[
                    {"label": "this server", "value": THIS_SERVER},
                    {"label": "Spark", "value": SPARK, "disabled": not spark_configured},
                ],
                value=SPARK if spark_configured else THIS_SERVER,
                inline=True,
            ),
        ],
        className="d-flex align-items-center mb-2",
        style=None if spark_configured else {"display": "none"},
    )
    fields = dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=Table.SOURCE,
                    type="text",
                    debounce=True,
                    placeholder="Source: empty for the uploaded file, a path "
                    "(Parquet, CSV) or table:name",
                ),
                md=5,
            ),
            dbc.Col(
                dbc.Input(
                    id=Table.DESTINATION,
                    type="text",
                    debounce=True,
                    placeholder="Destination: empty for your files, a path or table:name",
                ),
                md=4,
            ),
            dbc.Col(
                dbc.Select(
                    id=Table.FORMAT,
                    value="parquet",
                    options=[
                        {"label": "Parquet", "value": "parquet"},
                        {"label": "CSV", "value": "csv"},
                    ],
                ),
                md=3,
            ),
        ],
        className="g-2 mb-2",
    )
    actions = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-play-fill me-1"), "Score the table"],
                id=Table.START,
                color="primary",
            ),
            dbc.Button(
                [html.I(className="bi bi-x-circle me-1"), "Cancel"],
                id=Table.CANCEL,
                color="secondary",
                outline=True,
                disabled=True,
            ),
        ],
        className="d-flex gap-2 mb-2",
    )
    progress = html.Div(
        [
            dbc.Progress(id=Table.PROGRESS, value=0, striped=True, animated=True),
            html.Small(id=Table.PROGRESS_TEXT, className="text-body-secondary"),
        ],
        className="d-flex flex-column gap-1",
    )
    return section(
        "Score a table",
        [
            run_on,
            fields,
            actions,
            progress,
            html.Div(id=Table.RESULT, className="mt-2"),
            dcc.Store(id=Table.JOB),
            dcc.Interval(id=Table.POLL, interval=POLL_MS, disabled=True),
        ],
        "table",
    )


def progress_label(job: dict[str, Any]) -> str:
    """Tasks and rows done, and the time left at this pace."""
    progress = job.get("progress") or {}
    parts = []
    if progress.get("tasks_total"):
        parts.append(f"{progress['tasks_done']:,} / {progress['tasks_total']:,} tasks")
    if progress.get("rows_total"):
        parts.append(f"{progress.get('rows_done') or 0:,} / {progress['rows_total']:,} rows")
    if progress.get("eta_seconds") is not None:
        parts.append(f"about {progress['eta_seconds']:.0f} s left")
    return ", ".join(parts) or "Starting…"


def job_view(job: dict[str, Any]) -> dbc.Alert:
    state, summary = job.get("state"), job.get("summary") or {}
    if state == "succeeded":
        result = job.get("result") or {}
        where = result.get("filename") and html.A(
            f"Download {result['filename']}", href=f"api/files/{result['file_id']}"
        )
        failed = summary.get("failed_rows") or 0
        text = (
            f"{plural(summary.get('input_rows') or 0, 'row')} scored by "
            f"{summary.get('model')} version {summary.get('version')} in "
            f"{summary.get('seconds', 0):.1f} s; {plural(failed, 'row')} with an error. "
            f"Result: {result.get('location')}. "
        )
        return dbc.Alert([text, where or ""], color="success", className="mb-0")
    if state == "cancelled":
        return dbc.Alert("Cancelled: nothing was published.", color="secondary", className="mb-0")
    error = job.get("error") or {}
    return dbc.Alert(
        [html.Strong(error.get("message", "The job failed.")), " ", error.get("hint", "")],
        color="danger",
        className="mb-0",
    )
