"""CSV Prediction: size check in the browser, keep and check the file, predict, download."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, no_update

from callbacks.common import selected, show_error
from layouts.components import placeholder
from layouts.csv_tab import check_view, hidden_or_shown, prediction_view, too_large
from layouts.ids import Csv, History, Page
from services.csv_service import CsvService
from services.errors import ConsoleError, InvalidInput
from services.history import history_entry, with_entry
from services.identity import current_caller

NO_FILE = "Upload a CSV file to check it against the model."


def decode_upload(contents: str) -> bytes:
    """``dcc.Upload`` hands over a data URL: ``data:<type>;base64,<data>``."""
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error):
        raise InvalidInput("The upload did not arrive whole.", hint="Upload it again.") from None


class CsvCallbacks:
    def __init__(self, csv: CsvService) -> None:
        self.csv = csv

    def explain_rejection(self, rejected: dict[str, Any] | None) -> Any:
        return too_large(rejected["size"], rejected["limit"]) if rejected else None

    def keep_and_check(
        self,
        payload: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        kept: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """Keep a new upload in the caller's area; check the kept file against the model."""
        caller = current_caller()
        file_info = kept
        try:
            if ctx.triggered_id == Csv.PAYLOAD and payload:
                raw = decode_upload(payload["contents"])
                stored = self.csv.store(caller, payload["filename"], raw)
                file_info = {"file_id": stored.file_id, "filename": stored.filename}
            if not file_info:
                return placeholder(NO_FILE), None, True, None
            stored, check = self.csv.check(caller, *selected(selection), file_info["file_id"])
        except ConsoleError as error:
            return show_error(error), file_info, True, None
        return check_view(stored, check), file_info, not check.ok, None

    def predict_file(
        self,
        _: int,
        file_info: dict[str, Any] | None,
        selection: dict[str, Any] | None,
        history: list | None,
    ) -> tuple[Any, ...]:
        try:
            if not file_info:
                raise InvalidInput(NO_FILE)
            name, ref = selected(selection)
            prediction = self.csv.predict(current_caller(), name, ref, file_info["file_id"])
        except ConsoleError as error:
            return show_error(error), None, True, no_update
        entry = history_entry(prediction.result, "CSV", detail=file_info["filename"])
        download = {"file_id": prediction.download.file_id}
        return prediction_view(prediction), download, False, with_entry(history, entry)

    def download(self, _: int, result_file: dict[str, Any] | None) -> tuple[Any, Any]:
        try:
            if not result_file:
                raise InvalidInput("There is no result to download yet.")
            filename, content = self.csv.download(current_caller(), result_file["file_id"])
        except ConsoleError as error:
            return no_update, show_error(error)
        return dcc.send_bytes(content, filename), no_update


def register(app: dash.Dash, csv: CsvService) -> CsvCallbacks:
    callbacks = CsvCallbacks(csv)
    app.clientside_callback(
        ClientsideFunction("modelConsole", "checkUploadSize"),
        Output(Csv.PAYLOAD, "data"),
        Output(Csv.REJECTED, "data"),
        Output(Csv.UPLOAD, "contents"),
        Input(Csv.UPLOAD, "contents"),
        State(Csv.UPLOAD, "filename"),
        State(Csv.LIMIT, "data"),
        prevent_initial_call=True,
    )
    app.callback(Output(Csv.UPLOAD_ERROR, "children"), Input(Csv.REJECTED, "data"))(
        callbacks.explain_rejection
    )
    app.callback(
        Output(Csv.PREVIEW, "children"),
        Output(Csv.FILE, "data"),
        Output(Csv.PREDICT, "disabled"),
        Output(Csv.PAYLOAD, "data", allow_duplicate=True),
        Input(Csv.PAYLOAD, "data"),
        Input(Page.SELECTION, "data"),
        State(Csv.FILE, "data"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.keep_and_check)
    app.callback(
        Output(Csv.RESULT, "children"),
        Output(Csv.RESULT_FILE, "data"),
        Output(Csv.DOWNLOAD_BUTTON, "disabled"),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Csv.PREDICT, "n_clicks"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        running=[
            (Output(Csv.PREDICT, "disabled"), True, False),
            (Output(Csv.PROGRESS, "style"), hidden_or_shown(True), hidden_or_shown(False)),
        ],
        prevent_initial_call=True,
    )(callbacks.predict_file)
    app.callback(
        Output(Csv.DOWNLOAD, "data"),
        Output(Csv.RESULT, "children", allow_duplicate=True),
        Input(Csv.DOWNLOAD_BUTTON, "n_clicks"),
        State(Csv.RESULT_FILE, "data"),
        prevent_initial_call=True,
    )(callbacks.download)
    return callbacks
