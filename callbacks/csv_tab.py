"""CSV Prediction: check the uploaded file, score it in the background, offer the result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.background import csv_job, install_job_identity
from callbacks.common import selected, show_error
from layouts.components import placeholder
from layouts.csv_tab import (
    DOWNLOAD_READY,
    DOWNLOAD_WAITING,
    JOB_RUNNING,
    JOB_STOPPED,
    check_view,
    hidden_or_shown,
    prediction_view,
    progress_label,
    stalled,
    too_large,
    watch_seconds,
)
from layouts.ids import Csv, History, Page
from services.access.audit import Source
from services.access.caller import Caller
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput, scoring_job_broke, scoring_job_lost
from services.files.service import FileService, Progress
from services.history import file_entry, with_entry
from services.jobs.keys import job_key
from services.jobs.seal import CallerSeal
from services.jobs.tracker import JobTracker
from services.wiring import ConsoleServices

log = logging.getLogger(__name__)
NO_FILE = "Upload a CSV file to check it against the model."
PROGRESS_POLL_MS = 500


class CsvCallbacks:
    def __init__(
        self,
        files: FileService,
        jobs: JobTracker,
        seal: CallerSeal,
        file_url: Callable[[str], str],
    ) -> None:
        self.files = files
        self.jobs = jobs
        self.seal = seal
        self.file_url = file_url
        self.stall_seconds = files.settings.job_stall_seconds

    def explain_rejection(self, rejected: dict[str, Any] | None) -> Any:
        return too_large(rejected["size"], rejected["limit"]) if rejected else None

    def check_file(
        self, file_info: dict[str, Any] | None, selection: dict[str, Any] | None
    ) -> tuple[Any, bool]:
        """The uploaded file (in the caller's own area) against the session's model."""
        if not file_info:
            return placeholder(NO_FILE), True
        try:
            name, ref = selected(selection)
            stored, check = self.files.check(current_caller(), name, ref, file_info["file_id"])
        except ConsoleError as error:
            return show_error(error), True
        return check_view(stored, check), not check.ok

    def score_file(
        self,
        set_progress: Callable[[tuple[Any, ...]], None],
        sealed_caller: str | None,
        run: int,
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
        page_load: str,
        result_format: str | None = None,
    ) -> tuple[Any, ...]:
        """Runs as a background job (another process, maybe another machine): the page stays
        responsive and Cancel stops it. The caller comes sealed from the request that started
        it. The job leaves marks in the caller's area as it moves and, whatever happened, when
        it ends: what the page reads when the job falls silent or stops without a word."""
        set_progress((0, "Starting…", DOWNLOAD_WAITING))
        try:
            job = job_key(page_load, run)
            caller = self.seal.open(sealed_caller, job)
        except ConsoleError as error:
            return show_error(error), None, no_update
        self.jobs.progressed(caller, job)

        def report(progress: Progress) -> None:
            self.jobs.progressed(caller, job)
            set_progress((progress.percent, progress_label(progress), DOWNLOAD_WAITING))

        try:
            return self._score(caller, report, file_info, selection, history, result_format)
        finally:
            self.jobs.ended(caller, job)

    def _score(
        self,
        caller: Caller,
        report: Callable[[Progress], None],
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
        result_format: str | None,
    ) -> tuple[Any, ...]:
        try:
            if not file_info:
                raise InvalidInput(NO_FILE)
            name, ref = selected(selection)
            scored = self.files.score(caller, name, ref, file_info["file_id"], source=Source.CSV,
                                      on_progress=report, result_format=result_format)  # fmt: skip
        except ConsoleError as error:
            return show_error(error), None, no_update
        entry = file_entry(scored, file_info["filename"])
        download = {"file_id": scored.output.file_id}
        return prediction_view(scored), download, with_entry(history, entry)

    def job_failed(self, error: Exception) -> tuple[Any, ...]:
        """A job that broke outside our own checks: say so plainly, offer nothing."""
        log.error("CSV scoring job failed: %s", error)
        return show_error(scoring_job_broke()), None, no_update

    def explain_stop(
        self, state: str | None, page_load: str, run: int | None, cancelled_run: int | None
    ) -> Any:
        """When a job stops, its result, its error or Cancel says why. A job whose process
        was killed says nothing and never marked its end: say that here."""
        if state != JOB_STOPPED or not run or cancelled_run == run:
            return no_update
        try:
            job = job_key(page_load, run)
            if self.jobs.has_ended(current_caller(), job):
                return no_update
        except ConsoleError as error:
            return show_error(error)
        log.error("CSV scoring job %s stopped without finishing (process killed?)", job)
        return show_error(scoring_job_lost())

    def watch_progress(
        self, ticks: int | None, page_load: str, run: int | None, seen: dict | None
    ) -> tuple[Any, dict | None]:
        """While a job runs, every few seconds: a warning once its progress stamp has not
        changed for ``stall_seconds`` (counted in this page's ticks, from Predict when the
        job never started); gone when it moves again. ``seen``: the last change noticed."""
        try:
            job = job_key(page_load, run)
            stamp = self.jobs.progress_stamp(current_caller(), job)
        except ConsoleError:
            return None, None
        ticks = ticks or 0
        if not seen or seen.get("job") != job or seen.get("stamp") != stamp:
            seen = {"job": job, "stamp": stamp, "tick": ticks}
        silent = (ticks - seen["tick"]) * watch_seconds(self.stall_seconds)
        return (stalled(silent) if silent >= self.stall_seconds else None), seen

    def cancelled(self, _: int) -> Any:
        return placeholder("Cancelled: nothing was written. Press Predict from CSV to start again.")

    def offer_download(self, result_file: dict[str, Any] | None) -> tuple[Any, str]:
        if not result_file:
            return None, DOWNLOAD_WAITING
        return self.file_url(result_file["file_id"]), DOWNLOAD_READY


def register(app: dash.Dash, services: ConsoleServices) -> CsvCallbacks:
    callbacks = CsvCallbacks(
        services.files,
        services.jobs,
        services.seal,
        lambda file_id: app.get_relative_path(f"/api/files/{file_id}"),
    )
    install_job_identity()
    app.callback(Output(Csv.UPLOAD_ERROR, "children"), Input(Csv.REJECTED, "data"))(
        callbacks.explain_rejection
    )
    app.callback(
        Output(Csv.PREVIEW, "children"),
        Output(Csv.PREDICT, "disabled"),
        Input(Csv.FILE, "data"),
        Input(Page.SELECTION, "data"),
    )(callbacks.check_file)
    app.callback(
        Output(Csv.RESULT, "children"),
        Output(Csv.RESULT_FILE, "data"),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Csv.PREDICT, "n_clicks"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.RESULT_FORMAT, "value"),
        background=True,
        progress=[
            Output(Csv.PROGRESS, "value"),
            Output(Csv.PROGRESS_TEXT, "children"),
            Output(Csv.DOWNLOAD_BUTTON, "className"),
        ],
        running=[
            (Output(Csv.PREDICT, "disabled"), True, False),
            (Output(Csv.CANCEL, "disabled"), False, True),
            (Output(Csv.PROGRESS_BOX, "style"), hidden_or_shown(True), hidden_or_shown(False)),
            (Output(Csv.JOB_STATE, "data"), JOB_RUNNING, JOB_STOPPED),
            (Output(Csv.WATCHDOG, "disabled"), False, True),
            (Output(Csv.WATCHDOG, "n_intervals"), 0, 0),
        ],
        cancel=[Input(Csv.CANCEL, "n_clicks")],
        interval=PROGRESS_POLL_MS,
        on_error=callbacks.job_failed,
        prevent_initial_call=True,
    )(csv_job)
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Input(Csv.CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.cancelled)
    # In the browser, at the click: the page must know its run was cancelled before Dash,
    # having stopped the job, reports it stopped (a server answer could come after that).
    app.clientside_callback(
        "function(cancels, run) { return run; }",
        Output(Csv.CANCELLED_RUN, "data"),
        Input(Csv.CANCEL, "n_clicks"),
        State(Csv.PREDICT, "n_clicks"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Input(Csv.JOB_STATE, "data"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.PREDICT, "n_clicks"),
        State(Csv.CANCELLED_RUN, "data"),
        prevent_initial_call=True,
    )(callbacks.explain_stop)
    app.callback(
        Output(Csv.STALL, "children"),
        Output(Csv.WATCH_SEEN, "data"),
        Input(Csv.WATCHDOG, "n_intervals"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.PREDICT, "n_clicks"),
        State(Csv.WATCH_SEEN, "data"),
        prevent_initial_call=True,
    )(callbacks.watch_progress)
    app.callback(
        Output(Csv.DOWNLOAD_BUTTON, "href"),
        Output(Csv.DOWNLOAD_BUTTON, "className", allow_duplicate=True),
        Input(Csv.RESULT_FILE, "data"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.offer_download)
    return callbacks
