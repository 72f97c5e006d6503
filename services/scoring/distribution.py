"""The distribution of a batch's predictions, accumulated chunk by chunk so a file of any
size has it with its result: exact counts per class, and for numbers exact count, min, max
and mean with a histogram over fixed bins that widen (by merging pairs) when a value falls
outside them. Plain data; the UI draws it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_CLASSES = 50  # more distinct values than this: the predictions are numbers, not classes
BINS = 40


@dataclass
class Distribution:
    counts: dict[str, int] = field(default_factory=dict)
    low: float | None = None
    width: float | None = None
    bins: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64))
    total: int = 0
    numeric_sum: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    numeric: bool | None = None

    def add(self, predictions: pd.Series) -> None:
        values = predictions.dropna()
        if values.empty:
            return
        if self.numeric is None:
            self.numeric = _is_float(values)
        self.total += len(values)
        if not self.numeric:
            for value, count in values.value_counts(sort=False).items():
                key = str(value)
                self.counts[key] = self.counts.get(key, 0) + int(count)
            return
        self._add_numbers(values.to_numpy(dtype=float))

    def _add_numbers(self, values: np.ndarray) -> None:
        low, high = float(values.min()), float(values.max())
        self.numeric_sum += float(values.sum())
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)
        if self.low is None:
            self.low, self.width = low, max((high - low) / BINS, 1e-12)
        while self.minimum < self.low or self.maximum >= self.low + self.width * BINS:
            self._widen()
        index = np.minimum(((values - self.low) / self.width).astype(np.int64), BINS - 1)
        self.bins += np.bincount(index, minlength=BINS)

    def _widen(self) -> None:
        """Twice as wide, merging neighbours; grown toward the side a value fell out of."""
        merged = self.bins.reshape(-1, 2).sum(axis=1)
        if self.minimum < self.low:
            self.low -= self.width * BINS
            self.bins = np.concatenate([np.zeros(BINS // 2, dtype=np.int64), merged])
        else:
            self.bins = np.concatenate([merged, np.zeros(BINS // 2, dtype=np.int64)])
        self.width *= 2

    def to_dict(self) -> dict[str, Any]:
        if self.numeric:
            edges = [self.low + i * self.width for i in range(BINS + 1)]
            return {
                "kind": "histogram",
                "total": self.total,
                "edges": edges,
                "counts": self.bins.tolist(),
                "min": self.minimum,
                "max": self.maximum,
                "mean": self.numeric_sum / self.total if self.total else None,
            }
        ordered = sorted(self.counts.items(), key=lambda item: -item[1])
        return {"kind": "classes", "total": self.total, "counts": dict(ordered)}


def _is_float(values: pd.Series) -> bool:
    """Regressor outputs are floats with many values; class numbers or names are not."""
    if values.dtype.kind != "f":
        return False
    return values.nunique() > MAX_CLASSES or not np.all(np.mod(values.to_numpy(), 1) == 0)


def probability_histogram(probabilities: list[dict[str, float]], bins: int = 20) -> dict:
    """How sure the model is across a batch: the predicted class's probability, binned."""
    top = np.array([max(row.values()) for row in probabilities if row])
    counts, edges = np.histogram(top, bins=bins, range=(0.0, 1.0))
    return {"kind": "confidence", "edges": edges.tolist(), "counts": counts.tolist()}


@dataclass
class ConfidenceHistogram:
    """How sure the model was across a file: the predicted class's probability counted into
    fixed bins over [0, 1] chunk by chunk, so the figure is exact at any size."""

    bins: int = 20
    counts: np.ndarray | None = None
    total: int = 0
    top_sum: float = 0.0

    def add(self, top: np.ndarray) -> None:
        if not len(top):
            return
        counts, _ = np.histogram(top, bins=self.bins, range=(0.0, 1.0))
        self.counts = counts if self.counts is None else self.counts + counts
        self.total += len(top)
        self.top_sum += float(top.sum())

    def to_dict(self) -> dict[str, Any] | None:
        if not self.total or self.counts is None:
            return None
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        return {
            "kind": "confidence",
            "edges": edges.tolist(),
            "counts": self.counts.tolist(),
            "total": self.total,
            "mean": self.top_sum / self.total,
        }


SUMMARY_CLASSES = 20  # a summary fits the audit log's column; the rest is counted as other
OTHER = "(other)"


def output_summary(predictions: list[Any]) -> str:
    """The answers of one request in a few bytes for the audit log (never inputs): counts
    per class, or count, sum, min and max of numbers. Merged across requests by reports."""
    values = [p for p in predictions if p is not None and not isinstance(p, (dict, list))]
    if values and all(isinstance(v, float) for v in values) and _is_float(pd.Series(values)):
        numbers = np.asarray(values, dtype=float)
        summary = {
            "n": len(numbers),
            "sum": float(numbers.sum()),
            "min": float(numbers.min()),
            "max": float(numbers.max()),
        }
        return json.dumps({"numbers": summary})
    counts = pd.Series(
        [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values],
        dtype=object,
    ).value_counts()
    top = {str(k)[:40]: int(c) for k, c in counts.head(SUMMARY_CLASSES).items()}
    if len(counts) > SUMMARY_CLASSES:
        top[OTHER] = int(counts.iloc[SUMMARY_CLASSES:].sum())
    return json.dumps({"classes": top})
