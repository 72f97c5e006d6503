"""Prediction History: the person's JSON and form runs and their jobs, both kept on the
server (``services.run_history``; ``callbacks.features.jobs`` draws the jobs), so every tab
and device shows the same. Open a run or a job, run it again, download a job's result."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update

from layouts.components import show_error
from layouts.history_tab import entry_detail, history_table, rerun_note
from layouts.ids import Csv, History, Page, Tab
from services.access.audit import Source
from services.access.caller import Caller
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.history import prediction_entry
from services.jobs.record import Job
from services.scoring.payload import parse_json_text
from services.wiring import ConsoleServices

UNAVAILABLE = "unavailable"  # what the list shows while the runs cannot be read
NOTHING = {"detail": no_update, "new": no_update, "file": no_update, "tab": no_update}


class HistoryCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.scoring = services.scoring
        self.store = services.files.store
        self.jobs = services.jobs
        self.runs = services.runs

    def show(self, shown: str | None, **triggers: Any) -> dict[str, Any]:
        """The person's runs as the server has them, drawn when they changed. ``triggers``
        only say when to look: a run here, Clear, the jobs' poll (a run in another tab or on
        another device)."""
        caller = current_caller()
        try:
            if f"{History.CLEAR}.n_clicks" in ctx.triggered_prop_ids:
                self.runs.clear(caller)
            return self._drawn(caller, shown)
        except ConsoleError as error:
            if shown == UNAVAILABLE:  # said already: not drawn again on every poll
                return {"list": no_update, "shown": no_update}
            return {"list": show_error(error), "shown": UNAVAILABLE}

    def take_from_browser(self, entries: list[dict[str, Any]] | None) -> dict[str, Any]:
        """Runs an older version kept in this browser's storage, moved to the server once
        (then the browser forgets them), and the list drawn with them."""
        unchanged = {"handed": no_update, "list": no_update, "shown": no_update}
        if not entries:
            return unchanged
        caller = current_caller()
        try:
            return {"handed": self.runs.take_over(caller, entries), **self._drawn(caller)}
        except ConsoleError:
            return unchanged  # they stay in the browser: handed over on the next visit

    def _drawn(self, caller: Caller, shown: str | None = None) -> dict[str, Any]:
        """The list of the caller's runs and what it shows, unless it shows them already."""
        version = self.runs.version(caller)
        if version == shown:
            return {"list": no_update, "shown": no_update}
        return {"list": history_table(self.runs.list(caller), {}), "shown": version}

    def act(self, clicks: list[int | None]) -> dict[str, Any]:
        """Open a run or a job, or run it again: a JSON or form input is predicted again by
        the same version; a job's uploaded file goes back to the CSV tab, ready to predict."""
        action = ctx.triggered_id
        if not action or not any(clicks):
            return {**NOTHING, "job": no_update}
        if action["action"] in ("open-job", "rerun-job"):
            return self._job_action(action["action"], action["entry"])
        try:
            entry = self.runs.find(current_caller(), action["entry"])
        except ConsoleError as error:
            return {**NOTHING, "detail": show_error(error), "job": no_update}
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
        self.runs.remember(current_caller(), fresh)
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
        output={"list": Output(History.LIST, "children"), "shown": Output(History.SHOWN, "data")},
        inputs={
            "new": Input(History.NEW, "modified_timestamp"),  # not the run: every poll sends it
            "cleared": Input(History.CLEAR, "n_clicks"),
            "ticks": Input(Page.JOB_TICK, "n_intervals"),
        },
        state={"shown": State(History.SHOWN, "data")},
    )(callbacks.show)
    # runs an older version kept in this browser's storage go to the server, once
    app.clientside_callback(
        ClientsideFunction("modelConsole", "browserHistory"),
        Output(History.BROWSER, "data"),
        Input(History.KEEP, "data"),
    )
    app.callback(
        output={
            "handed": Output(History.HANDED, "data"),
            "list": Output(History.LIST, "children", allow_duplicate=True),
            "shown": Output(History.SHOWN, "data", allow_duplicate=True),
        },
        inputs={"entries": Input(History.BROWSER, "data")},
        prevent_initial_call=True,
    )(callbacks.take_from_browser)
    app.clientside_callback(
        ClientsideFunction("modelConsole", "forgetBrowserHistory"),
        Output(History.BROWSER, "data", allow_duplicate=True),
        Input(History.HANDED, "data"),
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
        prevent_initial_call=True,
    )(callbacks.act)
    return callbacks
