"""The page as a view of the person's jobs on the server.

One poll asks the server for the caller's jobs (every second while one is active, every few
seconds otherwise) and redraws what changed: each job panel (the CSV tab's, the table
panel's, the file comparison's), the jobs list in Prediction History and the header's count.
A reload, a second tab or another computer signed in as the same person see the same jobs,
because nothing about them is kept in the page but which one the URL names. Cancel works on
any job the caller owns, from any place it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from layouts import csv_tab, history_tab
from layouts.components import placeholder, show_error
from layouts.features import compare, evaluation, table_panel
from layouts.features.jobs import (
    CANCEL_TYPE,
    FAST_POLL_MS,
    JobPanel,
    ended_view,
    job_of,
    live_parts,
    progress_label,
    shown_key,
)
from layouts.ids import Csv, History, Page
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.jobs.record import (
    COMPARE,
    EVALUATE,
    FROM_API,
    FROM_COMPARE,
    FROM_CSV,
    FROM_EVALUATE,
    FROM_MONITOR_EVALUATE,
    QUEUED,
    Job,
)
from services.wiring import ConsoleServices


@dataclass(frozen=True)
class PanelView:
    panel: JobPanel
    draw: Callable[[Job], Any]  # a succeeded job's result


PANELS = (
    PanelView(csv_tab.PANEL, csv_tab.prediction_view),
    PanelView(table_panel.PANEL, table_panel.job_view),
    PanelView(compare.FILE_PANEL, compare.compared_file_view),
    *(PanelView(where.panel, evaluation.evaluation_view) for where in evaluation.SECTIONS),
)


OF_THE_UPLOADED_FILE = (FROM_CSV, FROM_COMPARE, FROM_EVALUATE, FROM_MONITOR_EVALUATE)
SAID_ERROR = "error"  # a panel's "shown" while it says an error: the next poll redraws it


def panel_of(job: Job) -> str:
    """Where a job is shown: the panel of the place it was started (an API job: the panel
    of its kind)."""
    if job.origin == FROM_API:
        return {COMPARE: FROM_COMPARE, EVALUATE: FROM_EVALUATE}.get(job.kind, FROM_CSV)
    return job.origin


class JobCallbacks:
    def __init__(self, services: ConsoleServices, idle_poll_ms: int) -> None:
        self.jobs = services.jobs
        self.idle_poll_ms = idle_poll_ms

    def refresh(
        self,
        ticks: int | None,
        open_job: str | None,
        file_info: dict[str, Any] | None,
        shown: list,
        listed: str | None,
    ) -> dict[str, Any]:
        """Every panel, the history's jobs list, the header's count and the next poll."""
        try:
            jobs = self.jobs.list(current_caller())
            opened, missing = self._opened(jobs, open_job)
        except ConsoleError as error:
            return self._unavailable(error)
        uploaded = f"upload:{file_info['file_id']}" if file_info else None
        panels = [
            self._panel(view, self._shown_job(view, jobs, opened, uploaded), was, missing)
            for view, was in zip(PANELS, shown, strict=True)
        ]
        active = sum(job.active for job in jobs)
        key = jobs_key(jobs)
        return {
            "panels": panels,
            "history": history_tab.jobs_table(jobs) if key != listed else no_update,
            "listed": key,
            "badge": history_tab.jobs_badge(active),
            "poll": FAST_POLL_MS if active else self.idle_poll_ms,
        }

    def _opened(self, jobs: list[Job], open_job: str | None) -> tuple[Job | None, Any]:
        """The job the URL names, if it is the caller's; else what to say instead."""
        if not open_job:
            return None, None
        found = next((job for job in jobs if job.job_id == open_job), None)
        if found is not None:
            return found, None
        try:
            return self.jobs.get(current_caller(), open_job), None
        except ConsoleError as error:
            return None, show_error(error)

    @staticmethod
    def _shown_job(
        view: PanelView, jobs: list[Job], opened: Job | None, uploaded: str | None
    ) -> Job | None:
        """The job the URL names, if it is this panel's; else the panel's newest, and for a
        panel of the uploaded file (predict, compare, evaluate) the newest for the file the
        CSV tab holds now: another file's results are not this one's."""
        name = view.panel.name
        if opened is not None and panel_of(opened) == name:
            return opened
        mine = (j for j in jobs if panel_of(j) == name)
        if name in OF_THE_UPLOADED_FILE and uploaded:
            mine = (j for j in mine if j.source == uploaded)
        return next(mine, None)

    @staticmethod
    def _panel(view: PanelView, job: Job | None, was: Any, missing: Any) -> dict[str, Any]:
        parts = live_parts(job)
        key = shown_key(job)
        if missing is not None and view.panel.name == FROM_CSV:  # a link to another's job
            return {**parts, "result": missing, "shown": SAID_ERROR}
        if key == was:
            return {**parts, "result": no_update, "shown": no_update}
        result = ended_view(job, view.draw) if job is not None else placeholder(view.panel.empty)
        return {**parts, "result": result, "shown": key}

    def _unavailable(self, error: ConsoleError) -> dict[str, Any]:
        """The jobs cannot be read (the job database is down): said in each panel."""
        alert = show_error(error)
        panel = {**live_parts(None), "result": alert, "shown": SAID_ERROR}
        return {
            "panels": [panel] * len(PANELS),
            "history": alert,
            "listed": None,
            "badge": no_update,
            "poll": self.idle_poll_ms,
        }

    def cancel_shown(self, clicks: list[int | None], shown: list[Any]) -> Any:
        """Cancel in a panel: the job the panel shows."""
        pressed = ctx.triggered_id
        index = next((i for i, v in enumerate(PANELS) if v.panel.cancel == pressed), None)
        if index is None or not clicks[index]:
            return no_update
        return self._cancel(job_of(shown[index]))

    def cancel_listed(self, clicks: list[int | None]) -> Any:
        """Cancel on a job of the history's list."""
        button = ctx.triggered_id
        if not button or not any(clicks):
            return no_update
        return self._cancel(button["job"])

    def _cancel(self, job_id: str | None) -> Any:
        """Any job the caller owns (anyone else's id is "not found")."""
        if not job_id:
            return no_update
        try:
            self.jobs.cancel(current_caller(), job_id)
        except ConsoleError as error:
            return show_error(error)
        return None


def jobs_key(jobs: list[Job]) -> str:
    """What the history's list shows changes with this (progress in steps of 5 %; a queued
    job's label, which counts the seconds it waits)."""
    return "|".join(
        f"{j.job_id}:{j.state}:{j.cancel_requested}:{((j.progress or {}).get('percent') or 0) // 5}"
        + (f":{progress_label(j)}" if j.state == QUEUED else "")
        for j in jobs
    )


def register(app: dash.Dash, services: ConsoleServices) -> JobCallbacks:
    idle_ms = max(services.settings.alias_cache_seconds, 2) * 1000
    callbacks = JobCallbacks(services, idle_ms)
    panels = [
        {
            "style": Output(view.panel.live, "style"),
            "title": Output(view.panel.title, "children"),
            "cancel": Output(view.panel.cancel, "disabled"),
            "progress": Output(view.panel.progress, "children"),
            "result": Output(view.panel.result, "children", allow_duplicate=True),
            "shown": Output(view.panel.shown, "data"),
        }
        for view in PANELS
    ]
    app.callback(
        output={
            "panels": panels,
            "history": Output(History.JOBS, "children"),
            "listed": Output(History.JOBS_SHOWN, "data"),
            "badge": Output(Page.JOB, "children"),
            "poll": Output(Page.JOB_TICK, "interval"),
        },
        inputs={
            "ticks": Input(Page.JOB_TICK, "n_intervals"),
            "open_job": Input(Page.OPEN_JOB, "data"),
            "file_info": Input(Csv.FILE, "data"),
        },
        state={
            "shown": [State(view.panel.shown, "data") for view in PANELS],
            "listed": State(History.JOBS_SHOWN, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )(callbacks.refresh)
    app.callback(
        output=Output(Page.JOB_CANCELLED, "children", allow_duplicate=True),
        inputs={"clicks": [Input(view.panel.cancel, "n_clicks") for view in PANELS]},
        state={"shown": [State(view.panel.shown, "data") for view in PANELS]},
        prevent_initial_call=True,
    )(callbacks.cancel_shown)
    app.callback(
        output=Output(Page.JOB_CANCELLED, "children", allow_duplicate=True),
        inputs={"clicks": Input({"type": CANCEL_TYPE, "job": ALL, "at": ALL}, "n_clicks")},
        prevent_initial_call=True,
    )(callbacks.cancel_listed)
    return callbacks
