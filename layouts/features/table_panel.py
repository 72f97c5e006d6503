"""The "Score a table" panel of the CSV tab: an uploaded file, a path or a catalog table,
scored as a table job on this server or on Spark, with progress, Cancel and a summary."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import plural, section, took
from layouts.features.jobs import JobPanel
from layouts.ids import Table
from services.jobs.record import FROM_TABLE, LOCAL, SPARK, Job

THIS_SERVER = LOCAL
NO_TABLE_JOB = "A table scored here shows its progress and result here."
PANEL = JobPanel(FROM_TABLE, NO_TABLE_JOB)


def layout(spark_configured: bool) -> html.Div:
    """The "Score a table" panel. One piece: its component tree reads top to bottom as the
    page shows it, and each part is used once."""
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
            _field(
                Table.SOURCE,
                "Source",
                "the uploaded file",
                "Empty: the file uploaded above; or a path (Parquet, CSV) or table:name.",
                md=5,
            ),
            _field(
                Table.DESTINATION,
                "Destination",
                "your files",
                "Empty: your files, to download; or a path or table:name.",
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("Result format", html_for=Table.FORMAT),
                    dbc.Select(
                        id=Table.FORMAT,
                        value="parquet",
                        options=[
                            {"label": "Parquet", "value": "parquet"},
                            {"label": "CSV", "value": "csv"},
                        ],
                    ),
                ],
                md=3,
            ),
        ],
        className="g-2 mb-2",
    )
    start = dbc.Button(
        [html.I(className="bi bi-play-fill me-1"), "Score the table"],
        id=Table.START,
        color="primary",
        className="mb-2",
    )
    return section(
        "Score a table",
        [
            run_on,
            fields,
            start,
            html.Div(id=Table.START_ERROR),
            PANEL.layout(),
        ],
        "table",
    )


def _field(field_id: str, label: str, placeholder: str, help_text: str, md: int) -> dbc.Col:
    """A text field with its name above and what it takes below (a placeholder alone was
    cut short, and gone once typed in)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=field_id),
            dbc.Input(
                id=field_id,
                type="text",
                debounce=True,
                placeholder=placeholder,
            ),
            dbc.FormText(help_text),
        ],
        md=md,
    )


def job_view(job: Job) -> dbc.Alert:
    """A finished table job: rows, failed rows, where the result is (a download when it is
    in the person's own files)."""
    summary, result = job.summary or {}, job.result or {}
    where = result.get("filename") and html.A(
        f"Download {result['filename']}", href=f"api/files/{result['file_id']}"
    )
    failed = summary.get("failed_rows") or 0
    text = (
        f"{plural(summary.get('input_rows') or 0, 'row')} of {job.source_name or job.source} "
        f"scored by {job.model} version {job.version} in {took(summary.get('seconds'))}; "
        f"{plural(failed, 'row')} with an error. Result: {result.get('location')}. "
    )
    return dbc.Alert([text, where or ""], color="success", className="mb-0")
