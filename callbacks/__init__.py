"""Callbacks translate between components and services; one module per tab."""

from __future__ import annotations

import dash

from callbacks import config_tab, csv_tab, history_tab, json_tab, page
from services.console import ModelConsole
from services.csv_service import CsvService
from services.identity import CallerSeal


def register_callbacks(
    app: dash.Dash, console: ModelConsole, csv: CsvService, seal: CallerSeal
) -> None:
    """Register every tab's callbacks on ``app`` (never module-level ``@dash.callback``)."""
    page.register(app, console)
    config_tab.register(app, console)
    json_tab.register(app, console)
    csv_tab.register(app, csv, seal)
    history_tab.register(app)
