"""Prediction history entries: plain dicts, kept per browser session by the UI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.files.service import ScoredFile
from services.scoring.service import Predictions

KEEP = 50
SHOWN = 5
PREVIEW_CHARS = 80


def _entry(
    source: str,
    model: str,
    version: str,
    alias: str | None,
    rows: int,
    latency_ms: float,
    predictions: list[Any],
    detail: str = "",
) -> dict[str, Any]:
    preview = json.dumps(predictions[:5], default=str)
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 1] + "…"
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "model": model,
        "version": version,
        "alias": alias,
        "rows": rows,
        "latency_ms": round(latency_ms, 1),
        "preview": preview,
        "detail": detail,
    }


def prediction_entry(answer: Predictions, source: str) -> dict[str, Any]:
    return _entry(source, answer.model, answer.version, answer.alias, answer.input_rows,
                  answer.latency_ms, answer.predictions)  # fmt: skip


def file_entry(scored: ScoredFile, filename: str) -> dict[str, Any]:
    return _entry("CSV", scored.model, scored.version, scored.alias, scored.rows,
                  scored.seconds * 1000, scored.predictions, detail=filename)  # fmt: skip


def with_entry(history: list[dict[str, Any]] | None, entry: dict[str, Any]) -> list[dict]:
    """Newest first, at most ``KEEP`` entries."""
    return [entry, *(history or [])][:KEEP]


def latest(history: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return list(history or [])[:SHOWN]
