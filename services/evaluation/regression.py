"""A regressor's metrics against the truth, from sums kept chunk by chunk.

MAE and RMSE are sums of errors; R² needs the truth's spread, merged chunk by chunk
(Chan's parallel update, which stays exact where a sum of squares would cancel); MAPE
leaves out rows whose truth is 0 (a percentage of nothing) and counts them. The residual
histogram and the predicted-against-actual sample are bounded whatever the file's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_ROWS = 1_000  # points in predicted-against-actual
FINE_BINS = 4_096  # the histogram's resolution before it is shown in ``SHOWN_BINS``
SHOWN_BINS = 30
SAMPLE_SEED = 17


@dataclass
class Spread:
    """Count, mean and sum of squared deviations, merged chunk by chunk."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        count, mean = len(values), float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + count
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * count / total
        self.mean += delta * count / total
        self.count = total


@dataclass
class Histogram:
    """Counts of values in equal-width bins whose width doubles (two bins merged into one)
    whenever a value falls outside the range: bounded memory, no range known beforehand."""

    width: float = 0.0
    low: float = 0.0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(FINE_BINS, dtype=np.int64))

    def add(self, values: np.ndarray) -> None:
        values = values[np.isfinite(values)]
        if not len(values):
            return
        if self.width == 0.0:
            spread = float(values.max() - values.min()) or abs(float(values[0])) or 1.0
            self.width = 2 * spread / FINE_BINS
            self.low = float(values.min()) - spread / 2
        while values.min() < self.low or values.max() >= self.low + self.width * FINE_BINS:
            self._widen()
        which = ((values - self.low) / self.width).astype(np.int64).clip(0, FINE_BINS - 1)
        self.counts += np.bincount(which, minlength=FINE_BINS)

    def _widen(self) -> None:
        """Twice as wide, centred on the same middle: each new bin holds two old ones."""
        middle = self.low + self.width * FINE_BINS / 2
        merged = self.counts.reshape(-1, 2).sum(axis=1)
        quarter = FINE_BINS // 4
        self.counts = np.zeros(FINE_BINS, dtype=np.int64)
        self.counts[quarter : quarter + len(merged)] = merged
        self.width *= 2
        self.low = middle - self.width * FINE_BINS / 2

    def shown(self) -> dict[str, list[float]]:
        """The occupied range in ``SHOWN_BINS`` bins: their left edges, width and counts."""
        filled = np.nonzero(self.counts)[0]
        if not len(filled):
            return {"edges": [], "counts": []}
        first, last = int(filled[0]), int(filled[-1]) + 1
        step = max(1, -(-(last - first) // SHOWN_BINS))
        counts = self.counts[first:last]
        counts = np.pad(counts, (0, (-len(counts)) % step)).reshape(-1, step).sum(axis=1)
        edges = self.low + self.width * (first + step * np.arange(len(counts) + 1))
        return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


@dataclass
class Sample:
    """A uniform sample of rows, any size of file: each row draws a random key and the
    ``size`` smallest keys are kept."""

    size: int = SAMPLE_ROWS
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(SAMPLE_SEED))
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    def add(self, actual: np.ndarray, predicted: np.ndarray) -> None:
        keys = np.concatenate([self.keys, self.rng.random(len(actual))])
        rows = np.concatenate([self.rows, np.column_stack([actual, predicted])])
        kept = np.argsort(keys)[: self.size]
        self.keys, self.rows = keys[kept], rows[kept]

    def points(self) -> dict[str, list[float]]:
        return {
            "actual": [float(v) for v in self.rows[:, 0]],
            "predicted": [float(v) for v in self.rows[:, 1]],
        }


@dataclass
class RegressionTally:
    """One version's numeric answers against the truth."""

    charts: bool = True
    rows: int = 0
    absolute: float = 0.0
    squared: float = 0.0
    percentage: float = 0.0
    percentage_rows: int = 0
    truth: Spread = field(default_factory=Spread)
    residuals: Histogram = field(default_factory=Histogram)
    sample: Sample = field(default_factory=Sample)

    def add(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        errors = predicted - truth
        self.rows += len(truth)
        self.absolute += float(np.abs(errors).sum())
        self.squared += float((errors**2).sum())
        nonzero = truth != 0
        self.percentage += float((np.abs(errors[nonzero]) / np.abs(truth[nonzero])).sum())
        self.percentage_rows += int(nonzero.sum())
        self.truth.add(truth)
        if self.charts:
            self.residuals.add(errors)
            self.sample.add(truth, predicted)

    @property
    def zero_truth_rows(self) -> int:
        return self.rows - self.percentage_rows

    def metrics(self) -> dict[str, float | None]:
        if not self.rows:
            return {}
        return {
            "mae": self.absolute / self.rows,
            "rmse": float(np.sqrt(self.squared / self.rows)),
            "r2": 1 - self.squared / self.truth.m2 if self.truth.m2 > 0 else None,
            "mape": self.percentage / self.percentage_rows if self.percentage_rows else None,
        }

    def chart_curves(self) -> dict[str, Any]:
        return {
            "residual_histogram": self.residuals.shown(),
            "predicted_vs_actual": self.sample.points(),
        }
