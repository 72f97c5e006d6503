"""Prediction History: the person's JSON and form runs and their file jobs, both kept on the
server (any tab, any device), to open, download or run again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import (
    code_block,
    model_badge,
    placeholder,
    plural,
    progress_bar,
    section,
    took,
)
from layouts.features.jobs import cancel_button_id, job_title, progress_label
from layouts.ids import History, history_action
from services.jobs.record import EVALUATE, SUCCEEDED, Job

COLUMNS = ("Time (UTC)", "Run", "Model", "Rows", "Answer", "")
JOB_COLUMNS = ("Started (UTC)", "Job", "Model", "File", "Rows", "Progress or result", "")
JOB_COLORS = {"queued": "info", "running": "primary", "succeeded": "success", "failed": "danger"}
OUTCOME_COLORS = {"ok": "success", "failed": "danger", "cancelled": "secondary"}
OUTCOME_WORDS = {"ok": "done", "failed": "failed", "cancelled": "cancelled"}


def layout(keep: int) -> html.Div:
    clear = dbc.Button(
        [html.I(className="bi bi-trash me-1"), "Clear history"],
        id=History.CLEAR,
        color="secondary",
        outline=True,
        size="sm",
        className="mt-3",
    )
    return html.Div(
        [
            html.P(
                "Your JSON and form runs and your file jobs, kept on this server: every tab and "
                "device you sign in from shows them (a job until its files expire).",
                className="text-body-secondary",
            ),
            section(
                f"Your JSON and form runs, newest first (the last {keep})",
                [html.Div(id=History.LIST), clear],
                "clock-history",
            ),
            section(
                "Your file jobs on this server, newest first",
                [html.Div(id=History.JOBS), dcc.Store(id=History.JOBS_SHOWN)],
                "hdd-stack",
            ),
            html.Div(id=History.DETAIL),
        ]
    )


def _time(entry: dict[str, Any]) -> str:
    return entry["time"].replace("T", " ").replace("+00:00", "")


def _model(entry: dict[str, Any]) -> Any:
    if not entry.get("model"):
        return "—"
    return model_badge(
        entry["model"], entry.get("version") or "?", entry.get("ref"), entry.get("alias")
    )


def _rows(entry: dict[str, Any]) -> str:
    if entry.get("rows") is None:
        return "—"
    failed = f" ({entry['failed_rows']:,} failed)" if entry.get("failed_rows") else ""
    return f"{entry['rows']:,}{failed}"


def _file(entry: dict[str, Any]) -> str:
    if not entry.get("file"):
        return "—"
    return f"{entry['file']} · {entry['format']}" if entry.get("format") else entry["file"]


def _run(entry: dict[str, Any]) -> list[Any]:
    outcome = entry.get("outcome", "ok")
    return [
        dbc.Badge(entry["source"], color="info"),
        " ",
        dbc.Badge(
            OUTCOME_WORDS.get(outcome, outcome), color=OUTCOME_COLORS.get(outcome, "secondary")
        ),
    ]


def can_run_again(entry: dict[str, Any]) -> bool:
    return bool(entry.get("input"))


def _actions(entry: dict[str, Any], downloads: dict[str, str]) -> list[Any]:
    buttons: list[Any] = [
        dbc.Button(
            "Open",
            id=history_action("open", entry["id"]),
            size="sm",
            color="link",
            className="p-0 me-2",
        )
    ]
    if can_run_again(entry):
        buttons.append(
            dbc.Button(
                "Run again",
                id=history_action("rerun", entry["id"]),
                size="sm",
                color="link",
                className="p-0 me-2",
            )
        )
    buttons += [
        html.A(f"Download {fmt}", href=href, className="small me-2")
        for fmt, href in downloads.items()
    ]
    return buttons


def history_table(entries: list[dict[str, Any]], downloads: dict[str, dict[str, str]]) -> Any:
    """``downloads``: for each entry id, the result files that still exist (format → link)."""
    if not entries:
        return html.P("No JSON or form predictions yet.", className="text-body-secondary mb-0")
    rows = [
        html.Tr(
            [
                html.Td(_time(entry), className="text-nowrap"),
                html.Td(_run(entry)),
                html.Td(_model(entry)),
                html.Td(_rows(entry)),
                html.Td(
                    html.Span(entry.get("preview") or "", className="history-answer")
                    if entry.get("outcome") == "ok"
                    else html.Span(entry.get("message") or "", className="small")
                ),
                html.Td(_actions(entry, downloads.get(entry["id"], {})), className="text-nowrap"),
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


def entry_detail(entry: dict[str, Any], downloads: dict[str, str], note: Any = None) -> Any:
    """One run, opened: everything the table has, the input it was given and its files."""
    facts: list[Any] = [
        html.Div([html.Strong("When: "), _time(entry), " UTC"]),
        html.Div([html.Strong("Run: "), *_run(entry)]),
        html.Div([html.Strong("Model: "), _model(entry)]),
        html.Div([html.Strong("Rows: "), _rows(entry)]),
    ]
    if entry.get("file"):
        facts.append(html.Div([html.Strong("File: "), _file(entry)]))
    if entry.get("latency_ms") is not None:
        facts.append(html.Div([html.Strong("Time taken: "), f"{entry['latency_ms']:,} ms"]))
    if entry.get("message"):
        facts.append(html.Div([html.Strong("Message: "), entry["message"]]))
    if entry.get("preview"):
        facts.append(html.Div([html.Strong("Answer: "), entry["preview"]]))
    body: list[Any] = [html.Div(facts, className="d-flex flex-column gap-1 mb-2")]
    if entry.get("input"):
        body += [html.Div("Input:", className="small"), code_block(entry["input"], "json")]
    if downloads:
        body.append(
            html.Div(
                [
                    html.A(
                        f"Download the {fmt} result",
                        href=href,
                        className="btn btn-outline-success btn-sm me-2",
                    )
                    for fmt, href in downloads.items()
                ]
            )
        )
    elif entry.get("results"):
        body.append(placeholder("Its result files have expired."))
    if note is not None:
        body.insert(0, note)
    return section(f"Run of {_time(entry)}", body, "folder2-open")


def rerun_note(message: str, color: str = "info") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2")


def _job_time(job: Job) -> str:
    return datetime.fromtimestamp(job.created, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _job_state(job: Job) -> list[Any]:
    return [
        dbc.Badge(job_title(job), color="info"),
        " ",
        dbc.Badge(job.state, color=JOB_COLORS.get(job.state, "secondary")),
    ]


def _job_rows(job: Job) -> str:
    summary = job.summary or {}
    if summary.get("input_rows") is None:
        return "—"
    failed = f" ({summary['failed_rows']:,} failed)" if summary.get("failed_rows") else ""
    return f"{summary['input_rows']:,}{failed}"


def _job_progress(job: Job) -> Any:
    if job.active:
        percent = (job.progress or {}).get("percent") or 0
        label = progress_label(job)
        return html.Div(
            [
                progress_bar(percent, f"{job_title(job)} {job.source_name}: {label}"),
                html.Small(label),
            ]
        )
    if job.state == SUCCEEDED:
        where = (job.result or {}).get("location")  # a compare or evaluation keeps no files
        seconds = f"Done in {took((job.summary or {}).get('seconds'))}"
        return html.Small(f"{seconds}; written to {where}." if where else f"{seconds}.")
    message = (job.error or {}).get("message") or "Cancelled: nothing was published."
    return html.Small(message)


def _job_actions(job: Job) -> list[Any]:
    actions: list[Any] = [
        dbc.Button(
            "Open",
            id=history_action("open-job", job.job_id),
            size="sm",
            color="link",
            className="p-0 me-2",
        )
    ]
    if job.active:
        actions.append(
            dbc.Button(
                "Cancel",
                id=cancel_button_id(job.job_id, "history"),
                size="sm",
                color="link",
                className="p-0 me-2 text-danger",
                disabled=job.cancel_requested,
            )
        )
    if job.state == SUCCEEDED:
        files = (job.result or {}).get("files") or {}
        actions += [
            html.A(f"Download {fmt}", href=f"api/files/{f['file_id']}", className="small me-2")
            for fmt, f in files.items()
        ]
    if job.source.startswith("upload:"):
        actions.append(
            dbc.Button(
                "Run again",
                id=history_action("rerun-job", job.job_id),
                size="sm",
                color="link",
                className="p-0 me-2",
            )
        )
    return actions


def _job_what(job: Job) -> str:
    """An evaluation keeps no result file: what it is, and its verdict's figures."""
    if job.kind != EVALUATE:
        return job.format
    summary = (job.result or {}).get("evaluation_summary") or {}
    return f"evaluation of {', '.join(job.options.get('refs') or [job.ref])} " + (
        f"against {summary['label']}" if summary.get("label") else ""
    )


def jobs_table(jobs: list[Job]) -> Any:
    """The person's jobs: live progress and Cancel while they run, downloads once done."""
    if not jobs:
        return html.P(
            "No file jobs yet: Predict from CSV, Score a table and Compare on this file start one.",
            className="text-body-secondary mb-0",
        )
    rows = [
        html.Tr(
            [
                html.Td(_job_time(job), className="text-nowrap"),
                html.Td(_job_state(job)),
                html.Td(model_badge(job.model, job.version, job.ref, job.alias)),
                html.Td(f"{job.source_name or job.source} · {_job_what(job)}"),
                html.Td(_job_rows(job)),
                html.Td(_job_progress(job), className="job-progress-cell"),
                html.Td(_job_actions(job), className="text-nowrap"),
            ],
            id=f"history-job-{job.job_id}",
        )
        for job in jobs
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(c) for c in JOB_COLUMNS])), html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 history-table history-jobs",
    )


def jobs_badge(active: int) -> Any:
    """In the header, on every tab, while the person has jobs running."""
    if not active:
        return None
    return dbc.Badge(
        [dbc.Spinner(size="sm", spinner_class_name="me-1"), plural(active, "job") + " running"],
        color="warning",
        text_color="dark",
    )
