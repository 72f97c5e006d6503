"""Prediction History: this session's runs; open one, download its result, run it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from callbacks.common import show_error
from layouts.history_tab import entry_detail, history_table, rerun_note
from layouts.ids import Csv, History, Page, Tab
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.history import find_entry, prediction_entry, with_entry
from services.scoring.payload import parse_json_text
from services.wiring import ConsoleServices


class HistoryCallbacks:
    def __init__(self, services: ConsoleServices, file_url: Callable[[str], str]) -> None:
        self.scoring = services.scoring
        self.store = services.files.store
        self.keep = services.settings.history_size
        self.file_url = file_url

    def downloads(self, entry: dict[str, Any]) -> dict[str, str]:
        """The entry's result files that still exist in the caller's area, as links."""
        caller, found = current_caller(), {}
        for fmt, file_id in (entry.get("results") or {}).items():
            try:
                self.store.path(caller, file_id)
            except ConsoleError:
                continue
            found[fmt] = self.file_url(file_id)
        return found

    def show(self, history: list[dict[str, Any]] | None) -> Any:
        entries = list(history or [])[: self.keep]
        return history_table(entries, {e["id"]: self.downloads(e) for e in entries if "id" in e})

    def clear(self, _: int) -> tuple[list, None]:
        return [], None

    def act(self, clicks: list[int | None], history: list | None) -> tuple[Any, ...]:
        """Open an entry, or run it again: a JSON or form input is predicted again by the
        same version; a CSV file goes back to the CSV tab, ready to predict."""
        action = ctx.triggered_id
        nothing = (no_update,) * 4
        if not action or not any(clicks):
            return nothing
        entry = find_entry(history, action["entry"])
        if entry is None:
            return nothing
        if action["action"] == "open":
            return entry_detail(entry, self.downloads(entry)), no_update, no_update, no_update
        if entry.get("input"):
            return (*self._predict_again(entry, history), no_update, no_update)
        return self._score_again(entry)

    def _predict_again(self, entry: dict[str, Any], history: list | None) -> tuple[Any, Any]:
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
            return show_error(error), no_update
        fresh = prediction_entry(answer, entry["source"], selection, entry["input"])
        note = rerun_note(f"Ran again with version {answer.version}: {fresh['preview']}", "success")
        return entry_detail(fresh, {}, note), with_entry(history, fresh, self.keep)

    def _score_again(self, entry: dict[str, Any]) -> tuple[Any, ...]:
        try:
            stored = self.store.describe(current_caller(), entry["upload"])
        except ConsoleError:
            note = rerun_note("The uploaded file has expired: upload it again.", "warning")
            return entry_detail(entry, {}, note), no_update, no_update, no_update
        file_info = {"file_id": stored.file_id, "filename": stored.filename}
        note = rerun_note(f"{stored.filename} is back in CSV Prediction: press Predict from CSV.")
        return entry_detail(entry, self.downloads(entry), note), no_update, file_info, Tab.CSV


def register(app: dash.Dash, services: ConsoleServices) -> HistoryCallbacks:
    callbacks = HistoryCallbacks(services, lambda f: app.get_relative_path(f"/api/files/{f}"))
    app.callback(Output(History.LIST, "children"), Input(History.STORE, "data"))(callbacks.show)
    app.callback(
        Output(History.STORE, "data", allow_duplicate=True),
        Output(History.DETAIL, "children", allow_duplicate=True),
        Input(History.CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )(callbacks.clear)
    app.callback(
        Output(History.DETAIL, "children"),
        Output(History.STORE, "data", allow_duplicate=True),
        Output(Csv.FILE, "data", allow_duplicate=True),
        Output(Page.TABS, "active_tab", allow_duplicate=True),
        Input({"type": History.ACTION, "action": ALL, "entry": ALL}, "n_clicks"),
        State(History.STORE, "data"),
        prevent_initial_call=True,
    )(callbacks.act)
    return callbacks
