"""The form built from the signature, as callbacks read it: one state to ask Dash for, one
helper to read it, whichever callback needs the form's values (predict, compare, what-if)."""

from __future__ import annotations

from typing import Any

from dash import ALL, State

from layouts.ids import form_field, form_switch


def form_state() -> dict[str, State]:
    """What a callback declares to be given the form: every field's text and every
    true/false switch, with their ids (each names its column)."""
    return {
        "values": State(form_field(ALL), "value"),
        "ids": State(form_field(ALL), "id"),
        "switches": State(form_switch(ALL), "value"),
        "switch_ids": State(form_switch(ALL), "id"),
    }


def raw_form(form: dict[str, list[Any]] | None) -> dict[str, Any]:
    """Column → what the person entered (text as typed, a switch as true/false)."""
    form = form or {}
    ids = [*(form.get("ids") or []), *(form.get("switch_ids") or [])]
    values = [*(form.get("values") or []), *(form.get("switches") or [])]
    return {
        field["column"]: value
        for field, value in zip(ids, values, strict=False)
        if isinstance(field, dict) and isinstance(field.get("column"), str)
    }
