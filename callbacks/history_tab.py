"""Prediction History: the person's JSON and form runs in this browser (kept in local storage,
so every tab shows them), and their jobs on this server (``callbacks.features.jobs`` draws those).
Open a run or a job, run it again, download a job's result."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update

from layouts.components import show_error
from layouts.history_tab import entry_detail, history_table, rerun_note
from layouts.ids import Csv, History, Page, Tab
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.history import find_entry, prediction_entry
from services.jobs.record import Job
from services.scoring.payload import parse_json_text
from services.wiring import ConsoleServices

NOTHING = {"detail": no_update, "new": no_update, "file": no_update, "tab": no_update}


class HistoryCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.scoring = services.scoring
        self.store = services.files.store
        self.jobs = services.jobs
        self.keep = services.settings.history_size

    def show(self, history: list[dict[str, Any]] | None) -> Any:
        return history_table(list(history or [])[: self.keep], {})

    def act(self, clicks: list[int | None], history: list | None) -> dict[str, Any]:
        """Open a run or a job, or run it again: a JSON or form input is predicted again by
        the same version; a job's uploaded file goes back to the CSV tab, ready to predict."""
        action = ctx.triggered_id
        if not action or not any(clicks):
            return {**NOTHING, "job": no_update}
        if action["action"] in ("open-job", "rerun-job"):
            return self._job_action(action["action"], action["entry"])
        entry = find_entry(history, action["entry"])
        if entry is None:
            return {**NOTHING, "job": no_update}
        if action["action"] == "open":
            return {**NOTHING, "detail": entry_detail(entry, {}), "job": no_update}
        if action["action"] != "rerun" or not entry.get("input"):
            note = rerun_note("This run kept no input to run again.", "warning")
            return {**NOTHING, "detail": note, "job": no_update}
        return {**NOTHING, **self._predict_again(entry), "job": no_update}

    def _predict_again(self, entry: dict[str, Any]) -> dict[str, Any]:
        source = Source.FORM if entry["source"] == "form" else Source.JSON
        selection = {k: entry.get(k) for k in ("version", "alias", "ref")} | {
            "name": entry["model"]
        }
        try:
            payload = parse_json_text(entry["input"])
            answer = self.scoring.predict(
                current_caller(), entry["model"], entry["version"], payload, source=source
            )
        except ConsoleError as error:
            return {"detail": show_error(error)}
        fresh = prediction_entry(answer, entry["source"], selection, entry["input"])
        note = rerun_note(f"Ran again with version {answer.version}: {fresh['preview']}", "success")
        return {"detail": entry_detail(fresh, {}, note), "new": fresh}

    def _job_action(self, action: str, job_id: str) -> dict[str, Any]:
        try:
            job = self.jobs.get(current_caller(), job_id)
        except ConsoleError as error:
            return {**NOTHING, "detail": show_error(error), "job": no_update}
        if action == "open-job":
            return {**NOTHING, "tab": Tab.CSV, "job": job.job_id, "detail": None}
        back = self._file_back(job)  # the file in the CSV tab again: its jobs, not the last
        return {**back, "job": None if "file" in back else no_update}

    def _file_back(self, job: Job) -> dict[str, Any]:
        file_id = job.source.removeprefix("upload:")
        try:
            stored = self.store.describe(current_caller(), file_id)
        except ConsoleError:
            note = rerun_note("The uploaded file has expired: upload it again.", "warning")
            return {**NOTHING, "detail": note}
        file_info = {"file_id": stored.file_id, "filename": stored.filename}
        note = rerun_note(f"{stored.filename} is back in CSV Prediction: press Predict from CSV.")
        return {**NOTHING, "detail": note, "file": file_info, "tab": Tab.CSV}


def register(app: dash.Dash, services: ConsoleServices) -> HistoryCallbacks:
    callbacks = HistoryCallbacks(services)
    app.callback(
        output=Output(History.LIST, "children"),
        inputs={"history": Input(History.STORE, "data")},
    )(callbacks.show)
    # In the browser: the history is the browser's own (local storage, every tab)
    app.clientside_callback(
        ClientsideFunction("modelConsole", "readHistory"),
        Output(History.STORE, "data"),
        Input(History.KEEP, "data"),
        State(History.STORE, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "addToHistory"),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(History.NEW, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "clearHistory"),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(History.CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )
    app.callback(
        output={
            "detail": Output(History.DETAIL, "children"),
            "new": Output(History.NEW, "data", allow_duplicate=True),
            "file": Output(Csv.FILE, "data", allow_duplicate=True),
            "tab": Output(Page.TABS, "active_tab", allow_duplicate=True),
            "job": Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        },
        inputs={"clicks": Input({"type": History.ACTION, "action": ALL, "entry": ALL}, "n_clicks")},
        state={"history": State(History.STORE, "data")},
        prevent_initial_call=True,
    )(callbacks.act)
    return callbacks
