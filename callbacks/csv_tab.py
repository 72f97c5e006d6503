"""CSV Prediction: check the uploaded file, score it in the background, offer the result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.common import selected, show_error
from layouts.components import placeholder
from layouts.csv_tab import (
    DOWNLOAD_READY,
    DOWNLOAD_WAITING,
    check_view,
    hidden_or_shown,
    prediction_view,
    progress_label,
    too_large,
)
from layouts.ids import Csv, History, Page
from services.csv_service import CsvService, Progress
from services.errors import ConsoleError, InvalidInput, PredictionFailed
from services.history import history_entry, with_entry
from services.identity import current_caller

log = logging.getLogger(__name__)
NO_FILE = "Upload a CSV file to check it against the model."
PROGRESS_POLL_MS = 500


class CsvCallbacks:
    def __init__(self, csv: CsvService, file_url: Callable[[str], str]) -> None:
        self.csv = csv
        self.file_url = file_url

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
        _: int,
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
    ) -> tuple[Any, ...]:
        """Runs as a background job: the page stays responsive, Cancel stops it."""
        set_progress((0, "Starting…", DOWNLOAD_WAITING))

        def report(progress: Progress) -> None:
            set_progress((progress.percent, progress_label(progress), DOWNLOAD_WAITING))

        try:
            if not file_info:
                raise InvalidInput(NO_FILE)
            name, ref = selected(selection)
            caller = current_caller()
            prediction = self.csv.score(caller, name, ref, file_info["file_id"], report)
        except ConsoleError as error:
            return show_error(error), None, no_update
        entry = history_entry(prediction.result, "CSV", detail=file_info["filename"])
        download = {"file_id": prediction.download.file_id}
        return prediction_view(prediction), download, with_entry(history, entry)

    def job_failed(self, error: Exception) -> tuple[Any, ...]:
        """A job that broke outside our own checks: say so plainly, offer nothing."""
        log.error("CSV scoring job failed: %s", error)
        failure = PredictionFailed(
            "Scoring stopped with an unexpected error; no result was written.",
            hint="Try again; if it happens again, tell the administrator (see the server log).",
        )
        return show_error(failure), None, no_update

    def cancelled(self, _: int) -> Any:
        return placeholder("Cancelled: nothing was written. Press Predict from CSV to start again.")

    def offer_download(self, result_file: dict[str, Any] | None) -> tuple[Any, str]:
        if not result_file:
            return None, DOWNLOAD_WAITING
        return self.file_url(result_file["file_id"]), DOWNLOAD_READY


JOBS = "model_console_csv_jobs"  # server.extensions[JOBS][url_base_pathname] -> CsvCallbacks


def score_file_job(set_progress: Callable, *args: Any) -> tuple[Any, ...]:
    """The background job. Dash keeps background functions in one registry shared by every
    app in the process, keyed by the callback's source and outputs, so two consoles in one
    process would run each other's jobs: the job finds its services through the app that
    is serving the request instead of through a closure."""
    app = dash.get_app()
    callbacks = app.server.extensions[JOBS][app.config.url_base_pathname]
    return callbacks.score_file(set_progress, *args)


def register(app: dash.Dash, csv: CsvService) -> CsvCallbacks:
    callbacks = CsvCallbacks(csv, lambda file_id: app.get_relative_path(f"/api/files/{file_id}"))
    app.server.extensions.setdefault(JOBS, {})[app.config.url_base_pathname] = callbacks
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
        ],
        cancel=[Input(Csv.CANCEL, "n_clicks")],
        interval=PROGRESS_POLL_MS,
        on_error=callbacks.job_failed,
        prevent_initial_call=True,
    )(score_file_job)
    app.callback(
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Input(Csv.CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.cancelled)
    app.callback(
        Output(Csv.DOWNLOAD_BUTTON, "href"),
        Output(Csv.DOWNLOAD_BUTTON, "className", allow_duplicate=True),
        Input(Csv.RESULT_FILE, "data"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.offer_download)
    return callbacks
