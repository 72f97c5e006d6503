"""Callbacks translate between components and services: one module per tab, and the
features several tabs share (``callbacks/features``)."""

from __future__ import annotations

import dash

from callbacks import config_tab, csv_tab, history_tab, json_tab, monitor_tab, page
from callbacks.features import (
    compare,
    evaluation,
    jobs,
    promotion,
    row_explain,
    snippets,
    table_panel,
    whatif,
)
from layouts.stores import READERS
from services.access.callback_guard import guard_callbacks
from services.wiring import ConsoleServices


def register_callbacks(app: dash.Dash, services: ConsoleServices) -> None:
    """Register every tab's callbacks on ``app`` (never module-level ``@dash.callback``).
    Every request to them is read first (``guard_callbacks``)."""
    route = f"{app.config.routes_pathname_prefix}_dash-update-component"
    guard_callbacks(app.server, route, lambda: app.callback_map, READERS)
    page.register(app, services)
    config_tab.register(app, services)
    promotion.register(app, services)
    json_tab.register(app, services)
    whatif.register(app, services)
    row_explain.register(app, services)
    history_tab.register(app, services)
    table_panel.register(app, services)
    compare.register(app, services)
    evaluation.register(app, services)
    monitor_tab.register(app, services)
    jobs.register(app, services)
    csv_tab.register(app, services)
    snippets.register(app, services)
