"""What every tab's callbacks share: the session's model selection and error rendering."""

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
    """The model and reference this session chose. Only a choice: permission is checked by
    the services on every call with the caller's own credentials."""
    if not selection or not selection.get("name"):
        raise no_model()
    return selection["name"], selection.get("ref") or selection.get("version") or "latest"


def show_error(error: ConsoleError) -> html.Div:
    return html.Div(error_alert(error))
