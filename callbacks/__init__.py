"""Callbacks translate between components and services; one module per tab."""

from __future__ import annotations

import dash

from callbacks import (
    compare,
    config_tab,
    csv_tab,
    history_tab,
    inbound,
    json_tab,
    monitor_tab,
    page,
    row_explain,
    table_panel,
    whatif,
)
from callbacks.csv_tab import CsvCallbacks
from services.wiring import ConsoleServices


def register_callbacks(app: dash.Dash, services: ConsoleServices) -> CsvCallbacks:
    """Register every tab's callbacks on ``app`` (never module-level ``@dash.callback``);
    returns the CSV tab's, whose job runs wherever jobs run. Every request to them is read
    first (``inbound``)."""
    inbound.install(app)
    page.register(app, services)
    config_tab.register(app, services)
    json_tab.register(app, services)
    whatif.register(app, services)
    row_explain.register(app, services)
    history_tab.register(app, services)
    table_panel.register(app, services)
    compare.register(app, services)
    monitor_tab.register(app, services)
    return csv_tab.register(app, services)
