"""The "Score a table" panel: translate the fields into a table job (``TableJobs``), poll it
once a second while it runs, cancel it, and add a history entry when it ends. The job is
asked for with the caller the server identifies on every request; the page holds only its
id, which leads nowhere for anyone else."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.common import selected, show_error
from layouts import table_panel
from layouts.ids import Csv, History, Page, Table
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.history import table_entry, with_entry
from services.wiring import ConsoleServices


class TableCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.tables = services.tables
        self.keep = services.settings.history_size

    def start(
        self,
        _clicks: int | None,
        run_on: str | None,
        source: str | None,
        destination: str | None,
        result_format: str | None,
        uploaded: dict[str, Any] | None,
        selection: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """Empty source: the file uploaded above."""
        try:
            name, ref = selected(selection)
            if not (source or "").strip() and uploaded:
                source = f"upload:{uploaded['file_id']}"
            body = {
                "source": source,
                "destination": destination,
                "format": result_format,
                "engine": run_on or table_panel.THIS_SERVER,
            }
            job = self.tables.submit(current_caller(), name, ref, body)
        except ConsoleError as error:
            return None, True, True, show_error(error), 0, ""
        return job.job_id, False, False, None, 0, "Starting…"

    def poll(
        self,
        _ticks: int | None,
        job_id: str | None,
        selection: dict[str, Any] | None,
        history: list | None,
    ) -> tuple[Any, ...]:
        if not job_id:
            return True, True, no_update, no_update, no_update, no_update
        try:
            job = self.tables.get(current_caller(), job_id).to_dict()
        except ConsoleError as error:
            return True, True, show_error(error), 0, "", no_update
        percent = (job.get("progress") or {}).get("percent") or 0
        if job["state"] == "running":
            return False, False, no_update, percent, table_panel.progress_label(job), no_update
        entry = table_entry(job, selection)
        done = 100 if job["state"] == "succeeded" else percent
        return (
            True,
            True,
            table_panel.job_view(job),
            done,
            table_panel.progress_label(job),
            with_entry(history, entry, self.keep),
        )

    def cancel(self, _clicks: int | None, job_id: str | None) -> Any:
        if job_id:
            try:
                self.tables.cancel(current_caller(), job_id)
            except ConsoleError as error:
                return show_error(error)
        return no_update


def register(app: dash.Dash, services: ConsoleServices) -> TableCallbacks:
    callbacks = TableCallbacks(services)
    app.callback(
        Output(Table.JOB, "data"),
        Output(Table.POLL, "disabled"),
        Output(Table.CANCEL, "disabled"),
        Output(Table.RESULT, "children"),
        Output(Table.PROGRESS, "value"),
        Output(Table.PROGRESS_TEXT, "children"),
        Input(Table.START, "n_clicks"),
        State(Table.RUN_ON, "value"),
        State(Table.SOURCE, "value"),
        State(Table.DESTINATION, "value"),
        State(Table.FORMAT, "value"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.start)
    app.callback(
        Output(Table.POLL, "disabled", allow_duplicate=True),
        Output(Table.CANCEL, "disabled", allow_duplicate=True),
        Output(Table.RESULT, "children", allow_duplicate=True),
        Output(Table.PROGRESS, "value", allow_duplicate=True),
        Output(Table.PROGRESS_TEXT, "children", allow_duplicate=True),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Table.POLL, "n_intervals"),
        State(Table.JOB, "data"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        prevent_initial_call=True,
    )(callbacks.poll)
    app.callback(
        Output(Table.RESULT, "children", allow_duplicate=True),
        Input(Table.CANCEL, "n_clicks"),
        State(Table.JOB, "data"),
        prevent_initial_call=True,
    )(callbacks.cancel)
    return callbacks
