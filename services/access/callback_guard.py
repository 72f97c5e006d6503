"""What a page sends to the callbacks is untrusted, and is read here before Dash sees it.

A callback request must be one this page could send: a callback the app has, with the
inputs and state that callback declares, in order. Anything else is answered 400, not left to
fail inside Dash. Then every value of a store or property the console knows is read back to
its shape (the readers are the page's: ``layouts/stores.py``): a value the page could not
have written (forged, or left in storage by an older version of the console) is read as
empty. The callbacks then only meet values of the shapes they wrote. Identity is never read
from here (see ``services.access.identity``).

This knows the shape of Dash's callback requests (``output``, ``outputs``, ``inputs``,
``state``, ``changedPropIds``), not Dash itself: it is handed the app's callback map.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request

NOT_FROM_THIS_PAGE = (
    "This request is not one the console's page sends. Reload the page; "
    "if it keeps happening, the page and the server are of different "
    "versions."
)
COUNTS = ("n_clicks", "n_intervals")
Reader = Callable[[Any], Any]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def guard_callbacks(
    server: Flask,
    route: str,
    callback_map: Callable[[], Mapping[str, Any]],
    readers: Mapping[str, Reader],
) -> None:
    """Read every request to the callbacks at ``route`` before Dash dispatches it: only
    callbacks ``callback_map()`` has, each value of "id.property" in ``readers`` read back
    by its reader (counts of clicks and ticks always)."""

    @server.before_request
    def read_callback_request() -> Response | None:
        if request.path != route or request.method != "POST":
            return None
        body = request.get_json(silent=True)  # parsed once: Dash is given this same object
        if not _from_this_page(callback_map(), body):
            answer = jsonify(error_code="INVALID_INPUT", message=NOT_FROM_THIS_PAGE)
            answer.status_code = 400
            return answer
        for item in [*body["inputs"], *body.get("state", [])]:
            for one in item if isinstance(item, list) else [item]:
                _read_back(one, readers)
        return None


def _from_this_page(callback_map: Mapping[str, Any], body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    spec = callback_map.get(body["output"])
    if spec is None or not isinstance(body.get("outputs"), (dict, list)):
        return False
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(_property_id(c) for c in changed):
        return False
    return _matches(body.get("inputs"), spec["inputs"]) and _matches(
        body.get("state", []), spec.get("state", [])
    )


def _property_id(changed: Any) -> bool:
    """``id.property``, the id a name or (pattern-matching) a JSON object, as Dash reads it."""
    if not isinstance(changed, str):
        return False
    if not changed.startswith("{"):
        return "." in changed
    ident, dot, prop = changed.rpartition("}.")
    if not dot or not prop:
        return False
    try:
        return isinstance(json.loads(ident + "}"), dict)
    except ValueError:
        return False


def _matches(items: Any, declared: list[dict[str, Any]]) -> bool:
    """One item per declared dependency: the very id and property, or for a pattern (ALL)
    a list of items with dict ids and that property."""
    if not isinstance(items, list) or len(items) != len(declared):
        return False
    for item, spec in zip(items, declared, strict=True):
        wanted = str(spec["id"])
        if wanted.startswith("{"):
            if not isinstance(item, list) or not all(
                isinstance(one, dict)
                and isinstance(one.get("id"), dict)
                and one.get("property") == spec["property"]
                for one in item
            ):
                return False
        elif not (
            isinstance(item, dict)
            and item.get("id") == wanted
            and item.get("property") == spec["property"]
        ):
            return False
    return True


def _read_back(item: dict[str, Any], readers: Mapping[str, Reader]) -> None:
    if "value" not in item:
        return
    prop = item["property"]
    reader = readers.get(f"{item['id']}.{prop}") if isinstance(item["id"], str) else None
    if reader is None and prop in COUNTS:
        reader = _count
    if reader is not None:
        item["value"] = reader(item["value"])
