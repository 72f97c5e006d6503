"""Prediction history entries of JSON and form runs: plain dicts the server keeps for each
person (``services.run_history``). File jobs are not entries: ``services.jobs`` keeps them.

Every run leaves one, done or failed, with the version and the alias (or ``latest``) it
used, its rows, and what is needed to open it again or run it again (its input, when small).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from services.errors import ConsoleError
from services.scoring.service import Predictions

OK, FAILED, CANCELLED = "ok", "failed", "cancelled"
PREVIEW_CHARS = 80
INPUT_KEPT_CHARS = 20_000  # a larger input is not kept with its run (it cannot run again)


def _entry(source: str, selection: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    selection = selection or {}
    return {
        "id": uuid.uuid4().hex[:12],
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "outcome": OK,
        "model": selection.get("name"),
        "version": selection.get("version"),
        "alias": selection.get("alias"),
        "ref": selection.get("ref"),
        "rows": None,
        "failed_rows": 0,
        "latency_ms": None,
        "preview": "",
        "message": "",
        "file": None,
        "format": None,
        "results": {},
        "upload": None,
        "input": None,
        **fields,
    }


def _preview(predictions: list[Any], labels: list[str | None] | None = None) -> str:
    """The first answers as a person reads them: ``0 · setosa, 2 · virginica, …``."""
    shown = [
        f"{p} · {n}" if n else _shown(p)
        for p, n in zip(predictions[:5], (labels or [None] * 5), strict=False)
    ]
    text = ", ".join(shown) + (", …" if len(predictions) > len(shown) else "")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def kept_input(text: str | None) -> str | None:
    return text if text is not None and len(text) <= INPUT_KEPT_CHARS else None


def prediction_entry(
    answer: Predictions, source: str, selection: dict[str, Any] | None, text: str | None
) -> dict[str, Any]:
    """A JSON or form prediction; ``text`` is the input as sent (kept when small)."""
    preview = _preview(answer.predictions, answer.labels)
    return _entry(
        source,
        selection,
        model=answer.model,
        version=answer.version,
        rows=answer.input_rows,
        latency_ms=round(answer.latency_ms, 1),
        preview=preview,
        input=kept_input(text),
    )


def failure_entry(
    source: str,
    selection: dict[str, Any] | None,
    error: ConsoleError | str,
    *,
    text: str | None = None,
    file: dict[str, Any] | None = None,
    fmt: str | None = None,
    outcome: str = FAILED,
) -> dict[str, Any]:
    """A run that failed (its error) or was cancelled; enough to run it again."""
    message = error.message if isinstance(error, ConsoleError) else error
    file = file or {}
    return _entry(
        source,
        selection,
        outcome=outcome,
        message=message,
        input=kept_input(text),
        file=file.get("filename"),
        upload=file.get("file_id"),
        format=fmt,
    )


_TEXT, _NUMBER = (str,), (int, float)
_REQUIRED = {"id": _TEXT, "time": _TEXT, "source": _TEXT, "outcome": _TEXT}
_OPTIONAL = {  # field: (types it may have besides None, what a missing field reads as)
    "model": (_TEXT, None),
    "version": (_TEXT, None),
    "alias": (_TEXT, None),
    "ref": (_TEXT, None),
    "rows": (_NUMBER, None),
    "failed_rows": (_NUMBER, 0),
    "latency_ms": (_NUMBER, None),
    "preview": (_TEXT, ""),
    "message": (_TEXT, ""),
    "file": (_TEXT, None),
    "format": (_TEXT, None),
    "results": ((dict,), {}),
    "upload": (_TEXT, None),
    "input": (_TEXT, None),
}


def valid_entries(history: Any) -> list[dict[str, Any]]:
    """Entries read back (from the database, or handed over by a browser): what is not an
    entry this console writes is dropped, a field an older version did not write reads as
    empty."""
    if not isinstance(history, list):
        return []
    return [entry for entry in map(_valid_entry, history) if entry is not None]


def _valid_entry(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    if not all(isinstance(entry.get(k), kinds) for k, kinds in _REQUIRED.items()):
        return None
    read = {k: entry[k] for k in _REQUIRED}
    for name, (kinds, missing) in _OPTIONAL.items():
        value = entry.get(name, missing)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            return None
        read[name] = value
    results = dict(read["results"] or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in results.items()):
        return None
    return read | {"results": results, "preview": _as_prose(read["preview"])}


def _as_prose(preview: str) -> str:
    """An older version's preview, a JSON list (``["0 · setosa"]``), as this one writes it."""
    if not preview.startswith("["):
        return preview
    try:
        shown = json.loads(preview)
    except ValueError:
        return preview  # cut short when written: shown as it is
    if not isinstance(shown, list):
        return preview
    return ", ".join(map(_shown, shown))


def _shown(value: Any) -> str:
    """One answer of a preview: text as it is, anything else as JSON (``null``, not None)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
