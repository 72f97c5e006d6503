"""Callbacks translate between components and services; one module per tab."""

from __future__ import annotations

import dash

from callbacks import (
    compare,
    config_tab,
    csv_tab,
    history_tab,
    inbound,
    jobs,
    json_tab,
    monitor_tab,
    page,
    row_explain,
    table_panel,
    whatif,
)
from services.wiring import ConsoleServices


def register_callbacks(app: dash.Dash, services: ConsoleServices) -> None:
    """Register every tab's callbacks on ``app`` (never module-level ``@dash.callback``).
    Every request to them is read first (``inbound``)."""
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
    jobs.register(app, services)
    csv_tab.register(app, services)
