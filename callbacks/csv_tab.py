"""CSV Prediction: check the uploaded file, score it in the background, offer the result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, hooks, no_update

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
from services.csv_service import CsvService, Progress, job_key
from services.errors import ConsoleError, InvalidInput, JobFailed, Unauthenticated
from services.history import history_entry, with_entry
from services.identity import Caller, CallerSeal, current_caller

log = logging.getLogger(__name__)
NO_FILE = "Upload a CSV file to check it against the model."
PROGRESS_POLL_MS = 500


class CsvCallbacks:
    def __init__(
        self,
        csv: CsvService,
        seal: CallerSeal,
        file_url: Callable[[str], str],
        stall_seconds: int,
    ) -> None:
        self.csv = csv
        self.seal = seal
        self.file_url = file_url
        self.stall_seconds = stall_seconds

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
            stored, check = self.csv.check(current_caller(), name, ref, file_info["file_id"])
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
            caller = self.seal.open(sealed_caller)
            job = job_key(page_load, run)
        except ConsoleError as error:
            return show_error(error), None, no_update
        self.csv.job_progressed(caller, job)

        def report(progress: Progress) -> None:
            self.csv.job_progressed(caller, job)
            set_progress((progress.percent, progress_label(progress), DOWNLOAD_WAITING))

        try:
            return self._score(caller, report, file_info, selection, history, result_format)
        finally:
            self.csv.finish_job(caller, job)

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
            prediction = self.csv.score(
                caller, name, ref, file_info["file_id"], report, result_format
            )
        except ConsoleError as error:
            return show_error(error), None, no_update
        entry = history_entry(prediction.result, "CSV", detail=file_info["filename"])
        download = {"file_id": prediction.download.file_id}
        return prediction_view(prediction), download, with_entry(history, entry)

    def job_failed(self, error: Exception) -> tuple[Any, ...]:
        """A job that broke outside our own checks: say so plainly, offer nothing."""
        log.error("CSV scoring job failed: %s", error)
        failure = JobFailed(
            "Scoring stopped with an unexpected error; no result was written.",
            hint="Try again; if it happens again, tell the administrator (see the server log).",
        )
        return show_error(failure), None, no_update

    def explain_stop(
        self, state: str | None, page_load: str, run: int | None, cancelled_run: int | None
    ) -> Any:
        """When a job stops, its result, its error or Cancel says why. A job whose process
        was killed says nothing and never marked its end: say that here."""
        if state != JOB_STOPPED or not run or cancelled_run == run:
            return no_update
        try:
            if self.csv.job_finished(current_caller(), job_key(page_load, run)):
                return no_update
        except ConsoleError as error:
            return show_error(error)
        log.error("CSV scoring job %s stopped without finishing (process killed?)", run)
        return show_error(job_lost())

    def watch_progress(self, ticks: int | None, page_load: str, run: int | None) -> Any:
        """While a job runs: a warning when it has been silent for ``stall_seconds`` (from
        its last chunk, or from Predict when it never started); gone when it moves again."""
        if not run:
            return None
        try:
            silent = self.csv.seconds_since_progress(current_caller(), job_key(page_load, run))
        except ConsoleError:
            return None
        if silent is None:
            silent = (ticks or 0) * watch_seconds(self.stall_seconds)
        return stalled(silent) if silent >= self.stall_seconds else None

    def cancelled(self, _: int, run: int | None) -> tuple[Any, int | None]:
        message = "Cancelled: nothing was written. Press Predict from CSV to start again."
        return placeholder(message), run

    def offer_download(self, result_file: dict[str, Any] | None) -> tuple[Any, str]:
        if not result_file:
            return None, DOWNLOAD_WAITING
        return self.file_url(result_file["file_id"]), DOWNLOAD_READY


JOBS = "model_console_csv_jobs"  # server.extensions[JOBS][url_base_pathname] -> CsvCallbacks


JOB_CALLER = "model_console_job_caller"  # callback_context.custom_data[JOB_CALLER]


def job_lost() -> JobFailed:
    return JobFailed(
        "Scoring stopped before it finished: the process running it ended unexpectedly, most "
        "often because the server ran out of memory. Nothing was written.",
        hint="Press Predict from CSV to try again. If it stops again, split the file into "
        "smaller files or tell the administrator.",
    )


def serving_callbacks() -> CsvCallbacks | None:
    """This console's CSV callbacks in the app serving the request (or running the job);
    None in another Dash app that shares the process."""
    app = dash.get_app()
    return app.server.extensions.get(JOBS, {}).get(app.config.url_base_pathname)


def score_file_job(set_progress: Callable, *args: Any) -> tuple[Any, ...]:
    """The background job. Dash keeps background functions in one registry shared by every
    app in the process, keyed by the callback's source and outputs, so two consoles in one
    process would run each other's jobs: the job finds its services through the app that
    is serving the request instead of through a closure. A Celery worker runs it outside
    any request, hence the app context (Flask-Caching needs one)."""
    callbacks = serving_callbacks()
    if callbacks is None:
        raise RuntimeError("This process has no model console to run the CSV job.")
    sealed_caller = dash.callback_context.custom_data.get(JOB_CALLER)
    with dash.get_app().server.app_context():
        return callbacks.score_file(set_progress, sealed_caller, *args)


def seal_caller_for_jobs(_context: Any) -> str | None:
    """Dash runs this in the web request before every callback; what it returns travels in
    the callback context, the only thing Dash hands to a background job besides the
    browser's values. So the job learns who started it from the server, sealed."""
    callbacks = serving_callbacks()
    try:
        return callbacks.seal.seal(current_caller()) if callbacks else None
    except Unauthenticated:
        return None


def install_job_identity() -> None:
    """Dash hooks are process-wide: add ours once, however many consoles the process has."""
    if not any(hook.func is seal_caller_for_jobs for hook in hooks.get_hooks("custom_data")):
        hooks.custom_data(JOB_CALLER)(seal_caller_for_jobs)


def register(app: dash.Dash, csv: CsvService, seal: CallerSeal) -> CsvCallbacks:
    callbacks = CsvCallbacks(
        csv,
        seal,
        lambda file_id: app.get_relative_path(f"/api/files/{file_id}"),
        csv.console.settings.job_stall_seconds,
    )
    app.server.extensions.setdefault(JOBS, {})[app.config.url_base_pathname] = callbacks
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
    )(score_file_job)
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Output(Csv.CANCELLED_RUN, "data"),
        Input(Csv.CANCEL, "n_clicks"),
        State(Csv.PREDICT, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.cancelled)
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
        Input(Csv.WATCHDOG, "n_intervals"),
        State(Csv.PAGE_LOAD, "data"),
        State(Csv.PREDICT, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.watch_progress)
    app.callback(
        Output(Csv.DOWNLOAD_BUTTON, "href"),
        Output(Csv.DOWNLOAD_BUTTON, "className", allow_duplicate=True),
        Input(Csv.RESULT_FILE, "data"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.offer_download)
    return callbacks
