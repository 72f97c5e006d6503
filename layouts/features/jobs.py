"""A job as the page shows it: one panel component used wherever a job is started (the CSV
tab's Predict, "Score a table", "Compare on this file"), each instance with its own IDs.

A panel shows the job the server says is its current one: while it runs, a progress bar, the
rows (and parts) done, the time left and Cancel; once it ends, what became of it. The result
itself is drawn by the feature that started the job (``result_views``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import placeholder, progress_bar
from services.jobs.record import CANCELLED, CELERY, FAILED, PROCESS, QUEUED, SUCCEEDED, Job

CANCEL_TYPE = "job-cancel"
HIDDEN = {"display": "none"}
FAST_POLL_MS = 1000  # while one of the person's jobs runs
QUEUE_NOTICE_SECONDS = 2  # a job waiting longer says what it waits for
QUEUED_WAITS = {  # by runner: the threads' jobs start at once
    CELERY: "Waiting for a job worker",
    # a worker's first big job starts its job server, with MLflow and the model's library
    PROCESS: "Starting a job process (the first one takes a few seconds)",
}


def cancel_button_id(job_id: str, where: str) -> dict[str, str]:
    """Cancel of one job, in one place of the page (a panel, the history list)."""
    return {"type": CANCEL_TYPE, "job": job_id, "at": where}


@dataclass(frozen=True)
class JobPanel:
    """One instance of the job panel; ``name`` scopes its IDs and names the origin of the
    jobs it shows (``services.jobs.record.ORIGINS``). What a poll redraws holds nothing a
    keyboard can focus: Cancel stays the same button while the job runs."""

    name: str
    empty: str = ""  # what its result area says with no job to show (its IDs need no text)

    @property
    def live(self) -> str:
        return f"{self.name}-job-live"

    @property
    def title(self) -> str:
        return f"{self.name}-job-title"

    @property
    def cancel(self) -> str:
        return f"{self.name}-job-cancel"

    @property
    def progress(self) -> str:
        return f"{self.name}-job-progress"

    @property
    def result(self) -> str:
        return f"{self.name}-job-result"

    @property
    def shown(self) -> str:
        """Which job, in which state, the panel shows now: Cancel's target, and what keeps
        the result from being drawn again on every poll."""
        return f"{self.name}-job-shown"

    def layout(self) -> html.Div:
        """Progress above the result, in one place."""
        return html.Div([self.live_area(), self.result_area()], className="job-panel")

    def live_area(self) -> html.Div:
        """What shows while the job runs: what it is, Cancel, the progress (placed by the
        feature, next to the button that started the job)."""
        return html.Div(
            [
                html.Div(
                    [
                        html.Span(id=self.title, className="small", role="status"),
                        dbc.Button(
                            [html.I(className="bi bi-x-circle me-1"), "Cancel"],
                            id=self.cancel,
                            color="secondary",
                            outline=True,
                            size="sm",
                        ),
                    ],
                    className="d-flex justify-content-between align-items-center gap-2 mb-1",
                ),
                html.Div(id=self.progress),
            ],
            id=self.live,
            style=HIDDEN,
            className="job-live mt-2 mb-2",
        )

    def result_area(self) -> html.Div:
        """What became of the job, and which job and state that is."""
        return html.Div(
            [
                html.Div(placeholder(self.empty), id=self.result),
                dcc.Store(id=self.shown),
            ]
        )


def shown_key(job: Job | None) -> str | None:
    return f"{job.job_id}:{job.state}" if job else None


def job_of(shown: Any) -> str | None:
    """The job id a panel's ``shown`` names."""
    return shown.split(":", 1)[0] if isinstance(shown, str) and ":" in shown else None


def live_parts(job: Job | None) -> dict[str, Any]:
    """The panel's live area for this poll: shown while the job is queued or running."""
    if job is None or not job.active:
        return {"style": HIDDEN, "title": None, "cancel": True, "progress": None}
    label = progress_label(job)
    percent = (job.progress or {}).get("percent") or 0
    return {
        "style": None,
        "title": [job_title(job), " ", html.Strong(job.source_name or job.source)],
        "cancel": job.cancel_requested,
        "progress": [
            progress_bar(percent, f"{job_title(job)} {job.source_name}: {label}"),
            html.Small(label, className="text-body-secondary job-progress-text"),
        ],
    }


def job_title(job: Job) -> str:
    words = {"score": "Scoring", "compare": "Comparing", "evaluate": "Evaluating"}
    return words.get(job.kind, job.kind.title())


def progress_label(job: Job) -> str:
    """Where the job stands: waiting, or parts and rows done and the time left."""
    if job.state == QUEUED:
        waited = time.time() - job.created
        if job.runner in QUEUED_WAITS and waited > QUEUE_NOTICE_SECONDS:
            return f"{QUEUED_WAITS[job.runner]}: {waited:.0f} s…"
        return "Starting…"
    if job.cancel_requested:
        return "Cancelling…"
    progress = job.progress or {}
    parts = []
    if progress.get("parts_total"):
        parts.append(f"{progress.get('parts_done') or 0:,} / {progress['parts_total']:,} parts")
    if progress.get("rows_total"):
        parts.append(f"{progress.get('rows_done') or 0:,} / {progress['rows_total']:,} rows")
    elif progress.get("rows_done"):
        parts.append(f"{progress['rows_done']:,} rows")
    if progress.get("eta_seconds") is not None:
        parts.append(f"about {progress['eta_seconds']:.0f} s left")
    return ", ".join(parts) or "Running…"  # the model loads, the first part is read


def ended_view(job: Job, succeeded: Callable[[Job], Any]) -> Any:
    """How the job ended; ``succeeded`` draws a result (each feature its own). A job still
    going says where its result will be, rather than leave the place empty."""
    if job.active:
        return placeholder(
            f"{job_title(job)} {job.source_name or job.source}: the result appears here when "
            "it ends; its progress is shown above."
        )
    if job.state == SUCCEEDED:
        return succeeded(job)
    if job.state == CANCELLED:
        return dbc.Alert(
            [
                "Cancelled: nothing was published. ",
                html.Span(
                    f"{job.source_name or job.source} is still there; start again when you "
                    "are ready.",
                    className="small",
                ),
            ],
            color="secondary",
            className="mb-0",
        )
    if job.state == FAILED:
        error = job.error or {}
        return dbc.Alert(
            [
                html.Strong(error.get("message", "The job failed.")),
                html.Div(error.get("hint", ""), className="small mt-1"),
            ],
            color="danger" if error.get("error_code") in ("JOB_LOST", "JOB_FAILED") else "warning",
            className="mb-0",
        )
    return None
