"""CSV Prediction: check the uploaded file, score it in the background, offer the result.

Whatever no longer matches the file, the model or the format on screen is cleared: a new
file or model clears the result; the format choice picks which of the result files (written
in one pass) Download gives.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.background import csv_job, run_sealed
from callbacks.common import selected, show_error
from callbacks.job_process import run_in_clean_process
from layouts.components import active_model_line, placeholder
from layouts.csv_tab import (
    DOWNLOAD_READY,
    DOWNLOAD_WAITING,
    JOB_RUNNING,
    JOB_STOPPED,
    check_view,
    hidden_or_shown,
    prediction_view,
    preview_grid,
    progress_label,
    running_badge,
    stalled,
    too_large,
    watch_seconds,
)
from layouts.ids import Csv, History, Insight, Page
from services.access.audit import Source
from services.access.caller import Caller
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput, scoring_job_broke, scoring_job_lost
from services.files.results import DEFAULT_RESULT_FORMAT
from services.files.service import FileService, Progress
from services.history import CANCELLED, failure_entry, file_entry, with_entry
from services.jobs.keys import job_key
from services.jobs.seal import CallerSeal
from services.jobs.tracker import JobTracker
from services.settings import Settings
from services.wiring import ConsoleServices, build_services

log = logging.getLogger(__name__)
NO_FILE = "Upload a CSV file to check it against the model."
NO_RESULT = "Predictions appear here after Predict from CSV."
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
        self.keep = files.settings.history_size

    def active(self, selection: dict[str, Any] | None) -> Any:
        return active_model_line(selection, "Scoring with")

    def explain_rejection(self, rejected: dict[str, Any] | None) -> Any:
        return too_large(rejected["size"], rejected["limit"]) if rejected else None

    def check_file(
        self, file_info: dict[str, Any] | None, selection: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        """The uploaded file (in the caller's own area) against the session's model. A new
        file or model also clears a result that was for the one before."""
        cleared = (placeholder(NO_RESULT), None)
        if not file_info:
            return placeholder(NO_FILE), None, True, *cleared
        try:
            name, version = selected(selection)
            stored, check = self.files.check(current_caller(), name, version, file_info["file_id"])
        except ConsoleError as error:
            return show_error(error), None, True, *cleared
        return check_view(stored, check), preview_grid(check), not check.ok, *cleared

    def starting(self, _: int) -> tuple[Any, Any]:
        """At Predict: the previous result goes at once, so it cannot be taken for this one."""
        return placeholder("Scoring… the result appears here when the file is done."), None

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
        probabilities: bool | None = None,
    ) -> tuple[Any, ...]:
        """Runs as a background job (another process, maybe another machine): the page stays
        responsive and Cancel stops it. The caller comes sealed from the request that started
        it. The job leaves marks in the caller's area as it moves and, whatever happened, when
        it ends: what the page reads when the job falls silent or stops without a word."""
        set_progress((0, "Starting…"))
        try:
            job = job_key(page_load, run)
            caller = self.seal.open(sealed_caller, job)
        except ConsoleError as error:
            return show_error(error), None, no_update
        self.jobs.progressed(caller, job)

        def report(progress: Progress) -> None:
            self.jobs.progressed(caller, job)
            set_progress((progress.percent, progress_label(progress)))

        try:
            return self._score(
                caller,
                job,
                report,
                file_info,
                selection,
                history,
                result_format,
                bool(probabilities),
            )
        finally:
            self.jobs.ended(caller, job)

    def _score(
        self,
        caller: Caller,
        job: str,
        report: Callable[[Progress], None],
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
        result_format: str | None,
        probabilities: bool = False,
    ) -> tuple[Any, ...]:
        fmt = result_format or DEFAULT_RESULT_FORMAT
        try:
            if not file_info:
                raise InvalidInput(NO_FILE)
            name, version = selected(selection)
            scored = self.files.score(
                caller,
                name,
                version,
                file_info["file_id"],
                source=Source.CSV,
                on_progress=report,
                result_format=fmt,
                every_format=True,
                job=job,
                probabilities=probabilities,
            )
        except ConsoleError as error:
            entry = failure_entry("CSV", selection, error, file=file_info, fmt=fmt)
            return show_error(error), None, with_entry(history, entry, self.keep)
        entry = file_entry(scored, selection, file_info, fmt)
        outputs = {"outputs": {name: out.file_id for name, out in scored.outputs.items()}}
        view = prediction_view(scored, (selection or {}).get("ref"), file_info["filename"])
        return view, outputs, with_entry(history, entry, self.keep)

    def job_failed(self, error: Exception) -> tuple[Any, ...]:
        """A job that broke outside our own checks: say so plainly, offer nothing."""
        log.error("CSV scoring job failed: %s", error)
        return show_error(scoring_job_broke()), None, no_update

    def explain_stop(
        self,
        state: str | None,
        page_load: str,
        run: int | None,
        cancelled_run: int | None,
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
    ) -> tuple[Any, Any]:
        """When a job stops, its result, its error or Cancel says why. A job whose process
        was killed says nothing and never marked its end: say that here (and in history)."""
        if state != JOB_STOPPED or not run or cancelled_run == run:
            return no_update, no_update
        try:
            job = job_key(page_load, run)
            if self.jobs.has_ended(current_caller(), job):
                return no_update, no_update
        except ConsoleError as error:
            return show_error(error), no_update
        log.error("CSV scoring job %s stopped without finishing (process killed?)", job)
        self.jobs.stop(current_caller(), job)
        lost = scoring_job_lost()
        entry = failure_entry("CSV", selection, lost, file=file_info)
        return show_error(lost), with_entry(history, entry, self.keep)

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

    def cancelled(
        self,
        _: int,
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
        result_format: str | None,
        page_load: str | None = None,
        run: int | None = None,
    ) -> tuple[Any, Any]:
        """The job is stopped by Dash (its process killed): what it had written goes."""
        with contextlib.suppress(ConsoleError):  # no valid job reference: nothing to remove
            self.jobs.stop(current_caller(), job_key(page_load, run))
        entry = failure_entry(
            "CSV",
            selection,
            "Cancelled: nothing was written.",
            file=file_info,
            fmt=result_format,
            outcome=CANCELLED,
        )
        message = "Cancelled: nothing was written. Press Predict from CSV to start again."
        return placeholder(message), with_entry(history, entry, self.keep)

    def offer_download(
        self, result_file: dict[str, Any] | None, result_format: str | None
    ) -> tuple[Any, str]:
        """Download gives the result in the format chosen now (both are written)."""
        outputs = (result_file or {}).get("outputs") or {}
        chosen = outputs.get(result_format or DEFAULT_RESULT_FORMAT)
        if not chosen:
            return None, DOWNLOAD_WAITING
        return self.file_url(chosen), DOWNLOAD_READY


def score_in_clean_process(
    settings: Settings, key: str, progress_key: str, args: Any, context: dict[str, Any]
) -> None:
    """A CSV job's process on this server (``job_process``): its own services, built from the
    console's settings, and its audit records stored before it ends."""
    from cachelib import SimpleCache

    services = build_services(settings, SimpleCache())
    tab = CsvCallbacks(services.files, services.jobs, services.seal, file_url=str)
    try:
        run_in_clean_process(
            settings,
            key,
            progress_key,
            args,
            context,
            job=functools.partial(run_sealed, tab.score_file),
        )
    finally:
        services.audit.close()


def register(app: dash.Dash, services: ConsoleServices) -> CsvCallbacks:
    callbacks = CsvCallbacks(
        services.files,
        services.jobs,
        services.seal,
        lambda file_id: app.get_relative_path(f"/api/files/{file_id}"),
    )
    app.callback(Output(Csv.ACTIVE, "children"), Input(Page.SELECTION, "data"))(callbacks.active)
    app.callback(Output(Csv.UPLOAD_ERROR, "children"), Input(Csv.REJECTED, "data"))(
        callbacks.explain_rejection
    )
    app.callback(
        Output(Csv.PREVIEW, "children"),
        Output(Csv.PREVIEW_GRID, "children"),
        Output(Csv.PREDICT, "disabled"),
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Output(Csv.RESULT_FILE, "data", allow_duplicate=True),
        Input(Csv.FILE, "data"),
        Input(Page.SELECTION, "data"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.check_file)
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Output(Csv.RESULT_FILE, "data", allow_duplicate=True),
        Input(Csv.PREDICT, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.starting)
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
        State(Insight.CSV_PROBABILITIES, "value"),
        background=True,
        progress=[Output(Csv.PROGRESS, "value"), Output(Csv.PROGRESS_TEXT, "children")],
        running=[
            (Output(Csv.PREDICT, "disabled"), True, False),
            (Output(Csv.CANCEL, "disabled"), False, True),
            (Output(Csv.PROGRESS_BOX, "style"), hidden_or_shown(True), hidden_or_shown(False)),
            (Output(Csv.JOB_STATE, "data"), JOB_RUNNING, JOB_STOPPED),
            (Output(Csv.WATCHDOG, "disabled"), False, True),
            (Output(Csv.WATCHDOG, "n_intervals"), 0, 0),
            (Output(Page.JOB, "children"), running_badge(), None),
        ],
        cancel=[Input(Csv.CANCEL, "n_clicks")],
        interval=PROGRESS_POLL_MS,
        on_error=callbacks.job_failed,
        prevent_initial_call=True,
    )(csv_job)
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Csv.CANCEL, "n_clicks"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        State(Csv.RESULT_FORMAT, "value"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.PREDICT, "n_clicks"),
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
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Csv.JOB_STATE, "data"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.PREDICT, "n_clicks"),
        State(Csv.CANCELLED_RUN, "data"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
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
        Output(Csv.DOWNLOAD_BUTTON, "className"),
        Input(Csv.RESULT_FILE, "data"),
        Input(Csv.RESULT_FORMAT, "value"),
    )(callbacks.offer_download)
    return callbacks
