"""CSV Prediction: check the uploaded file against the loaded model, and start scoring it as a
job. The job's progress and result are the job panel's (``callbacks/features/jobs.py``): what
the server says, so a reload or another tab shows the same."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State

from layouts.components import active_model_line, placeholder, show_error
from layouts.csv_tab import check_view, preview_grid, too_large, upload_failed
from layouts.features.evaluation import SECTIONS
from layouts.ids import Compare, Csv, Insight, Page, Table
from layouts.selection import Selection
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput
from services.files.results import DEFAULT_RESULT_FORMAT
from services.jobs.record import FROM_CSV, LOCAL, MINE, SCORE
from services.wiring import ConsoleServices

NO_FILE = "Upload a CSV file to check it against the model."


def no_file() -> InvalidInput:
    return InvalidInput(NO_FILE, hint="Drop a CSV file on the upload area above.")


class CsvCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.files = services.files
        self.jobs = services.jobs

    def active(self, selection: Any) -> Any:
        return active_model_line(Selection.from_store(selection), "Scoring with")

    def explain_rejection(self, rejected: dict[str, Any] | None) -> Any:
        if not rejected:
            return None
        if "size" in rejected:
            return too_large(rejected["size"], rejected["limit"])
        return upload_failed(rejected["message"], rejected.get("hint"))

    def check_file(self, file_info: dict[str, Any] | None, selection: Any) -> tuple[Any, Any, bool]:
        """The uploaded file (in the caller's own area) against the session's model."""
        if not file_info:
            return placeholder(NO_FILE), None, True
        try:
            model = Selection.required(selection)
            stored, check = self.files.check(
                current_caller(), model.name, model.version, file_info["file_id"]
            )
        except ConsoleError as error:
            return show_error(error), None, True
        return check_view(stored, check), preview_grid(check), not check.ok

    def start(
        self,
        clicks: int | None,
        file_info: dict[str, Any] | None,
        selection: Any,
        result_format: str | None,
        probabilities: bool | None,
    ) -> tuple[Any, Any]:
        """Predict from CSV: a job on the server, scored by exactly the loaded version; every
        format is written in the same pass. The job panel shows it from here on."""
        try:
            if not file_info:
                raise no_file()
            model = Selection.required(selection)
            request = {
                "kind": SCORE,
                "engine": LOCAL,
                "source": f"upload:{file_info['file_id']}",
                "destination": MINE,
                "format": result_format or DEFAULT_RESULT_FORMAT,
                "every_format": True,
                "probabilities": bool(probabilities),
            }
            job = self.jobs.submit(current_caller(), model.name, model.version, request, FROM_CSV)
        except ConsoleError as error:
            return show_error(error), dash.no_update
        return None, job.job_id


def register(app: dash.Dash, services: ConsoleServices) -> CsvCallbacks:
    callbacks = CsvCallbacks(services)
    app.callback(
        output=Output(Csv.ACTIVE, "children"),
        inputs={"selection": Input(Page.SELECTION, "data")},
    )(callbacks.active)
    app.callback(
        output=Output(Csv.UPLOAD_ERROR, "children"),
        inputs={"rejected": Input(Csv.REJECTED, "data")},
    )(callbacks.explain_rejection)
    app.callback(
        output=[
            Output(Csv.PREVIEW, "children"),
            Output(Csv.PREVIEW_GRID, "children"),
            Output(Csv.PREDICT, "disabled"),
        ],
        inputs={
            "file_info": Input(Csv.FILE, "data"),
            "selection": Input(Page.SELECTION, "data"),
        },
    )(callbacks.check_file)
    app.callback(
        output=[
            Output(Csv.START_ERROR, "children"),
            Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        ],
        inputs={"clicks": Input(Csv.PREDICT, "n_clicks")},
        state={
            "file_info": State(Csv.FILE, "data"),
            "selection": State(Page.SELECTION, "data"),
            "result_format": State(Csv.RESULT_FORMAT, "value"),
            "probabilities": State(Insight.CSV_PROBABILITIES, "value"),
        },
        running=[(Output(Csv.PREDICT, "disabled"), True, False)],
        prevent_initial_call=True,
    )(callbacks.start)
    # A new file: what was said about starting on the last one (or on none) goes
    app.clientside_callback(
        ClientsideFunction("modelConsole", "cleared"),
        [
            Output(error, "children", allow_duplicate=True)
            for error in (
                Csv.START_ERROR,
                Compare.CSV_ERROR,
                Table.START_ERROR,  # its empty source is the uploaded file
                *(section.error for section in SECTIONS),  # the Monitor tab's evaluates it too
            )
        ],
        Input(Csv.FILE, "data"),
        prevent_initial_call=True,
    )
    return callbacks
