"""Callbacks translate between components and services; one module per tab."""

from __future__ import annotations

import dash

from services.console import ModelConsole


def register_callbacks(app: dash.Dash, console: ModelConsole) -> None:
    """Register every tab's callbacks on ``app`` (never module-level ``@dash.callback``)."""
