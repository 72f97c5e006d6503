"""What a page sends to the callbacks is untrusted, and is read here before Dash sees it.

A callback request must be one this page could send: a callback the app has, with the
inputs and state that callback declares, in order. Anything else is answered 400, not left to
fail inside Dash. Then every value of a store or property the console knows is read back to
its shape: a value the page could not have written (forged, or left in session storage by an
older version of the console) is read as empty, and a history entry that is not an entry is
dropped. The callbacks then only meet values of the shapes they wrote. Identity is never
read from here (see ``services.access.identity``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dash
from flask import Response, jsonify, request

from layouts.ids import Config, Csv, History, Insight, Json, Page, Table
from layouts.jobs import JobPanel
from services.history import valid_entries
from services.jobs.record import FROM_COMPARE, FROM_CSV, FROM_TABLE

NOT_FROM_THIS_PAGE = (
    "This request is not one the console's page sends. Reload the page; "
    "if it keeps happening, the page and the server are of different "
    "versions."
)
COUNTS = ("n_clicks", "n_intervals")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _fields(value: Any, **kinds: Callable[[Any], bool]) -> dict[str, Any] | None:
    """``value`` when it is a dict whose named fields all pass their checks, else None."""
    if not isinstance(value, dict) or not all(ok(value.get(k)) for k, ok in kinds.items()):
        return None
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_count(value: Any) -> bool:
    return _count(value) is not None


def selection(value: Any) -> dict[str, Any] | None:
    return _fields(value, name=_is_text, ref=_is_text, version=_is_text, alias=_is_text_or_none)


def uploaded_file(value: Any) -> dict[str, Any] | None:
    return _fields(value, file_id=_is_text, filename=_is_text)


def rejected_upload(value: Any) -> dict[str, Any] | None:
    return _fields(value, size=_is_count, limit=_is_count)


def insight_asked(value: Any) -> dict[str, Any] | None:
    """The row to explain (JSON text) is input like any other; only its shape is checked
    here."""
    return _fields(
        value, selection=lambda v: selection(v) is not None, payload=_is_text, asked=_is_count
    )


READERS: dict[str, Callable[[Any], Any]] = {
    f"{Page.SELECTION}.data": selection,
    f"{Json.ANSWERED_BY}.data": selection,
    f"{Json.FORM_ANSWERED_BY}.data": selection,
    f"{Json.INSIGHT_ASKED}.data": insight_asked,
    f"{Json.FORM_INSIGHT_ASKED}.data": insight_asked,
    f"{History.STORE}.data": valid_entries,
    f"{Page.OPEN_JOB}.data": _text,
    f"{Page.URL_READ}.data": _flag,
    f"{History.JOBS_SHOWN}.data": _text,
    **{f"{JobPanel(origin).shown}.data": _text for origin in (FROM_CSV, FROM_TABLE, FROM_COMPARE)},
    f"{Csv.FILE}.data": uploaded_file,
    f"{Csv.REJECTED}.data": rejected_upload,
    f"{Csv.RESULT_FORMAT}.value": _text,
    f"{Table.RUN_ON}.value": _text,
    f"{Table.SOURCE}.value": _text,
    f"{Table.DESTINATION}.value": _text,
    f"{Table.FORMAT}.value": _text,
    f"{Json.TEXT}.value": _text,
    f"{Insight.WHATIF_FEATURE}.value": _text,
    f"{Insight.CSV_PROBABILITIES}.value": _flag,
    f"{Config.MODEL}.value": _text,
    f"{Config.MODEL}.search_value": _text,
    f"{Config.VERSION}.value": _text,
    f"{Config.VERSION}.search_value": _text,
    f"{Page.URL}.search": _text,
    f"{Page.THEME_SWITCH}.value": _flag,
}


def install(app: dash.Dash) -> None:
    """Read every callback request of ``app`` before Dash dispatches it."""
    route = f"{app.config.routes_pathname_prefix}_dash-update-component"

    @app.server.before_request
    def read_callback_request() -> Response | None:
        if request.path != route or request.method != "POST":
            return None
        body = request.get_json(silent=True)  # parsed once: Dash is given this same object
        if not _from_this_page(app.callback_map, body):
            answer = jsonify(error_code="INVALID_INPUT", message=NOT_FROM_THIS_PAGE)
            answer.status_code = 400
            return answer
        for item in [*body["inputs"], *body.get("state", [])]:
            for one in item if isinstance(item, list) else [item]:
                _read_back(one)
        return None


def _from_this_page(callback_map: dict[str, Any], body: Any) -> bool:
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


def _read_back(item: dict[str, Any]) -> None:
    if "value" not in item:
        return
    prop = item["property"]
    reader = READERS.get(f"{item['id']}.{prop}") if isinstance(item["id"], str) else None
    if reader is None and prop in COUNTS:
        reader = _count
    if reader is not None:
        item["value"] = reader(item["value"])
