"""The shape of every value the page keeps or sends that a server callback reads: each read
back to it before any callback sees it (``services/access/callback_guard.py``), so the
callbacks only meet values of the shapes they wrote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layouts.answer import ANSWERS
from layouts.features.jobs import JobPanel
from layouts.features.promotion import pending_move
from layouts.ids import Config, Csv, History, Insight, Json, Page, Promote, Table
from layouts.selection import selection_store_reader
from services.history import valid_entries
from services.jobs.record import (
    FROM_COMPARE,
    FROM_CSV,
    FROM_EVALUATE,
    FROM_MONITOR_EVALUATE,
    FROM_TABLE,
)

SHOWN_ORIGINS = (FROM_CSV, FROM_TABLE, FROM_COMPARE, FROM_EVALUATE, FROM_MONITOR_EVALUATE)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _fields(value: Any, **kinds: Callable[[Any], bool]) -> dict[str, Any] | None:
    """``value`` when it is a dict whose named fields all pass their checks, else None."""
    if not isinstance(value, dict) or not all(ok(value.get(k)) for k, ok in kinds.items()):
        return None
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_count(value: Any) -> bool:
    return _count(value) is not None


def history_entry(value: Any) -> dict[str, Any] | None:
    """One entry just written (``History.NEW``), read like the stored ones."""
    entries = valid_entries([value])
    return entries[0] if entries else None


def uploaded_file(value: Any) -> dict[str, Any] | None:
    return _fields(value, file_id=_is_text, filename=_is_text)


def rejected_upload(value: Any) -> dict[str, Any] | None:
    """Why an upload failed: too big for the limit (``size``, ``limit``), or the server's
    ``message`` and ``hint``."""
    if _fields(value, size=_is_count, limit=_is_count):
        return {"size": value["size"], "limit": value["limit"]}
    if _fields(value, message=_is_text, hint=lambda v: v is None or _is_text(v)):
        return {"message": value["message"], "hint": value.get("hint")}
    return None


def insight_asked(value: Any) -> dict[str, Any] | None:
    """The row to explain (JSON text) is input like any other; only its shape is checked
    here."""
    return _fields(
        value,
        selection=lambda v: selection_store_reader(v) is not None,
        payload=_is_text,
        asked=_is_count,
    )


READERS: dict[str, Callable[[Any], Any]] = {
    f"{Page.SELECTION}.data": selection_store_reader,
    **{f"{answer.answered_by}.data": selection_store_reader for answer in ANSWERS},
    **{f"{answer.asked}.data": insight_asked for answer in ANSWERS},
    f"{History.SHOWN}.data": _text,
    f"{History.BROWSER}.data": valid_entries,
    f"{History.NEW}.modified_timestamp": _count,
    f"{Page.OPEN_JOB}.data": _text,
    f"{Page.URL_READ}.data": _flag,
    f"{Page.URL_ASKED}.data": _text,
    f"{History.JOBS_SHOWN}.data": _text,
    **{f"{JobPanel(origin).shown}.data": _text for origin in SHOWN_ORIGINS},
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
    f"{Page.URL}.pathname": _text,
    f"{Page.URL}.href": _text,
    f"{History.NEW}.data": history_entry,
    f"{Page.THEME_SWITCH}.value": _flag,
    f"{Promote.ALIAS}.value": _text,
    f"{Promote.VERSION}.value": _text,
    f"{Promote.SPLIT}.value": _text,
    f"{Promote.PENDING}.data": pending_move,
    f"{Promote.CHANGED}.data": _count,
}
