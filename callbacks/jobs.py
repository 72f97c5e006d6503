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

from callbacks.common import show_error
from layouts import compare, csv_tab, history_tab, table_panel
from layouts.ids import History, Page
from layouts.jobs import (
    CANCEL_TYPE,
    FAST_POLL_MS,
    JobPanel,
    ended_view,
    live_view,
    shown_key,
)
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.jobs.record import COMPARE, FROM_API, FROM_COMPARE, FROM_CSV, Job
from services.wiring import ConsoleServices


@dataclass(frozen=True)
class PanelView:
    panel: JobPanel
    draw: Callable[[Job], Any]  # a succeeded job's result


PANELS = (
    PanelView(csv_tab.PANEL, csv_tab.prediction_view),
    PanelView(table_panel.PANEL, table_panel.job_view),
    PanelView(compare.FILE_PANEL, compare.compared_file_view),
)


def panel_of(job: Job) -> str:
    """Where a job is shown: the panel of the place it was started (an API job: the panel
    of its kind)."""
    if job.origin == FROM_API:
        return FROM_COMPARE if job.kind == COMPARE else FROM_CSV
    return job.origin


class JobCallbacks:
    def __init__(self, services: ConsoleServices, idle_poll_ms: int) -> None:
        self.jobs = services.jobs
        self.idle_poll_ms = idle_poll_ms

    def refresh(self, ticks: int | None, open_job: str | None, shown: list) -> dict[str, Any]:
        """Every panel, the history's jobs list, the header's count and the next poll."""
        try:
            jobs = self.jobs.list(current_caller())
            opened, missing = self._opened(jobs, open_job)
        except ConsoleError as error:
            return self._unavailable(error)
        panels: list[Any] = []
        for view, was in zip(PANELS, shown, strict=True):
            panels += self._panel(view, jobs, opened, was, missing)
        active = sum(job.active for job in jobs)
        return {
            "panels": panels,
            "history": history_tab.jobs_table(jobs),
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

    def _panel(
        self, view: PanelView, jobs: list[Job], opened: Job | None, was: Any, missing: Any
    ) -> list[Any]:
        name = view.panel.name
        if opened is not None and panel_of(opened) == name:
            job = opened
        else:
            job = next((j for j in jobs if panel_of(j) == name), None)
        live = live_view(job, name)
        if missing is not None and name == FROM_CSV:
            live = missing
        key = shown_key(job)
        if key == was:
            return [live, no_update, no_update]
        result = ended_view(job, view.draw) if job is not None else no_update
        return [live, result, key]

    def _unavailable(self, error: ConsoleError) -> dict[str, Any]:
        """The jobs cannot be read (the job database is down): said in each panel."""
        alert = show_error(error)
        panels = [alert, no_update, no_update] * len(PANELS)
        return {"panels": panels, "history": alert, "badge": no_update, "poll": self.idle_poll_ms}

    def cancel(self, clicks: list[int | None]) -> Any:
        """Cancel on any job the caller owns (anyone else's id is "not found")."""
        button = ctx.triggered_id
        if not button or not any(clicks):
            return no_update
        try:
            self.jobs.cancel(current_caller(), button["job"])
        except ConsoleError as error:
            return show_error(error)
        return None


def register(app: dash.Dash, services: ConsoleServices) -> JobCallbacks:
    idle_ms = max(services.settings.alias_cache_seconds, 2) * 1000
    callbacks = JobCallbacks(services, idle_ms)
    panels = [
        Output(component, prop, allow_duplicate=True)
        for view in PANELS
        for component, prop in (
            (view.panel.live, "children"),
            (view.panel.result, "children"),
            (view.panel.shown, "data"),
        )
    ]
    app.callback(
        output={
            "panels": panels,
            "history": Output(History.JOBS, "children"),
            "badge": Output(Page.JOB, "children"),
            "poll": Output(Page.JOB_TICK, "interval"),
        },
        inputs={
            "ticks": Input(Page.JOB_TICK, "n_intervals"),
            "open_job": Input(Page.OPEN_JOB, "data"),
        },
        state={"shown": [State(view.panel.shown, "data") for view in PANELS]},
        prevent_initial_call="initial_duplicate",
    )(callbacks.refresh)
    app.callback(
        output=Output(Page.JOB_CANCELLED, "children"),
        inputs={"clicks": Input({"type": CANCEL_TYPE, "job": ALL, "at": ALL}, "n_clicks")},
        prevent_initial_call=True,
    )(callbacks.cancel)
    return callbacks
