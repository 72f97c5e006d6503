"""Prediction history entries: plain dicts, kept per browser session by the UI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.prediction import PredictionResult

KEEP = 50
SHOWN = 5
PREVIEW_CHARS = 80


def history_entry(result: PredictionResult, source: str, detail: str = "") -> dict[str, Any]:
    preview = json.dumps(result.predictions[:5], default=str)
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 1] + "…"
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "model": result.model,
        "version": result.version,
        "alias": result.alias,
        "rows": result.input_rows,
        "latency_ms": round(result.latency_ms, 1),
        "preview": preview,
        "detail": detail,
    }


def with_entry(history: list[dict[str, Any]] | None, entry: dict[str, Any]) -> list[dict]:
    """Newest first, at most ``KEEP`` entries."""
    return [entry, *(history or [])][:KEEP]


def latest(history: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return list(history or [])[:SHOWN]
