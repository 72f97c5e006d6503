"""Compare & Monitor: the traffic report and drift over time for the loaded model, read
again when the tab opens, the period changes or Refresh is pressed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import Input, Output, State, no_update

from layouts.components import active_model_line, show_error
from layouts.ids import Monitor, Page, Tab
from layouts.monitor_tab import PERIOD_HOURS, drift_history_view, no_split, traffic_view
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.monitor.drift import PSI_THRESHOLD
from services.monitor.split import NoSplit
from services.wiring import ConsoleServices


def since_for(period: Any, now: datetime | None = None) -> str | None:
    """The start of the chosen period as an ISO time; None for all time (or no choice)."""
    hours = PERIOD_HOURS.get(period) if isinstance(period, str) else None
    if hours is None:
        return None
    return ((now or datetime.now(UTC)) - timedelta(hours=hours)).isoformat(timespec="seconds")


class MonitorCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.services = services

    def active(self, selection: Any) -> Any:
        return active_model_line(Selection.from_store(selection), "Monitoring")

    def refresh(self, tab: Any, refreshes: Any, period: Any, selection: Any) -> tuple[Any, Any]:
        if tab != Tab.MONITOR:
            return no_update, no_update
        try:
            model = Selection.required(selection)
        except ConsoleError as error:
            return show_error(error), None
        since = since_for(period)
        return self._traffic(model.name, since), self._drift(model.name, model.version, since)

    def _traffic(self, name: str, since: str | None) -> Any:
        caller = current_caller()
        try:
            split = self.services.split.split(caller, name, Source.UI)
        except NoSplit as error:
            return no_split(error.message)
        except ConsoleError as error:
            return show_error(error)
        report = self.services.traffic.report(caller, name, since, source=Source.UI)
        return traffic_view(split.to_dict(), report.to_dict())

    def _drift(self, name: str, version: str, since: str | None) -> Any:
        try:
            history = self.services.drift.history(current_caller(), name, version, since, Source.UI)
        except ConsoleError as error:
            return show_error(error)
        return drift_history_view(history, PSI_THRESHOLD)


def register(app: dash.Dash, services: ConsoleServices) -> MonitorCallbacks:
    callbacks = MonitorCallbacks(services)
    app.callback(
        output=Output(Monitor.ACTIVE, "children"),
        inputs={"selection": Input(Page.SELECTION, "data")},
    )(callbacks.active)
    app.callback(
        output=[Output(Monitor.TRAFFIC, "children"), Output(Monitor.DRIFT, "children")],
        inputs={
            "tab": Input(Page.TABS, "active_tab"),
            "refreshes": Input(Monitor.REFRESH, "n_clicks"),
            "period": Input(Monitor.PERIOD, "value"),
        },
        state={"selection": State(Page.SELECTION, "data")},
    )(callbacks.refresh)
    return callbacks
