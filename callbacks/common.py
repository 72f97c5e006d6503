"""What every tab's callbacks share: the session's active model and error rendering."""

from __future__ import annotations

from typing import Any

from dash import html

from layouts.components import error_alert
from services.errors import ConsoleError, InvalidInput


def no_model() -> InvalidInput:
    return InvalidInput(
        "No model is loaded in this session.",
        hint="Open Model Configuration, pick a model and a version, and press Load Model.",
    )


def selected(selection: dict[str, Any] | None) -> tuple[str, str]:
    """The model and the version this session loaded: predictions go to exactly the version
    the page shows (an alias that moves later takes effect at the next Load Model). Only a
    choice: permission is checked by the services on every call with the caller's own
    credentials."""
    if not selection or not selection.get("name") or not str(selection.get("version", "")):
        raise no_model()
    return selection["name"], str(selection["version"])


def show_error(error: ConsoleError) -> html.Div:
    return html.Div(error_alert(error))
