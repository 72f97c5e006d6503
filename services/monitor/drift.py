"""Drift of what users score against the model's training reference, counted in the same
pass as scoring (streaming bin counts: a chunk costs a ``searchsorted`` per column).

Per column: a population stability index (PSI) over bins fixed from the reference (deciles
for numbers, the reference's categories plus "unseen" for text), the share of values outside
the training range, of unseen categories and of missing values. Columns are ranked by PSI
and flagged above a threshold; with fewer than ``MIN_ROWS`` rows scored the whole summary is
"indicative" and nothing is flagged: a PSI of a handful of rows is mostly noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PSI_THRESHOLD = 0.2
MIN_ROWS = 100
BINS = 10
MAX_CATEGORIES = 50
OTHER, UNSEEN = "(other)", "(unseen)"
EPSILON = 1e-4  # an empty bin's share, so the logarithm is defined


@dataclass
class NumberColumn:
    name: str
    edges: np.ndarray  # interior cut points: len(edges) + 1 bins
    expected: np.ndarray
    low: float
    high: float
    counts: np.ndarray = field(init=False)
    missing: int = 0
    outside: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.edges) + 1, dtype=np.int64)

    def add(self, values: pd.Series) -> None:
        numbers = (
            values.to_numpy(dtype=float, na_value=np.nan)
            if values.dtype.kind in "iuf"
            else pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        )
        present = numbers[~np.isnan(numbers)]
        self.seen += len(numbers)
        self.missing += len(numbers) - len(present)
        self.outside += int(((present < self.low) | (present > self.high)).sum())
        index = np.searchsorted(self.edges, present, side="right")
        self.counts += np.bincount(index, minlength=len(self.counts))

    def summary(self) -> dict[str, Any]:
        return {
            "column": self.name,
            "kind": "number",
            "psi": psi(self.expected, self.counts),
            "outside_range": _share(self.outside, self.seen),
            "missing": _share(self.missing, self.seen),
            "training_range": [self.low, self.high],
        }


@dataclass
class TextColumn:
    name: str
    categories: list[str]  # the reference's most common, then OTHER
    expected: np.ndarray  # shares of categories, then UNSEEN
    counts: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    unseen: int = 0
    seen: int = 0
    known: set[str] = field(default_factory=set)  # every reference category

    def add(self, values: pd.Series) -> None:
        self.seen += len(values)
        present = values.dropna()
        self.missing += len(values) - len(present)
        for value, count in present.astype(str).value_counts(sort=False).items():
            if value not in self.known:
                self.unseen += int(count)
                value = UNSEEN
            elif value not in self.categories:
                value = OTHER
            self.counts[value] = self.counts.get(value, 0) + int(count)

    def summary(self) -> dict[str, Any]:
        observed = np.array([self.counts.get(c, 0) for c in [*self.categories, UNSEEN]])
        return {
            "column": self.name,
            "kind": "text",
            "psi": psi(self.expected, observed),
            "unseen": _share(self.unseen, self.seen),
            "unseen_rows": self.unseen,
            "missing": _share(self.missing, self.seen),
        }


def psi(expected: np.ndarray, observed: np.ndarray) -> float | None:
    """Σ (observed − expected) · ln(observed / expected) over shares; None with no values."""
    total = observed.sum()
    if not total:
        return None
    actual = np.clip(observed / total, EPSILON, None)
    wanted = np.clip(expected, EPSILON, None)
    return round(float(np.sum((actual - wanted) * np.log(actual / wanted))), 6)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _is_number(values: pd.Series) -> bool:
    return values.dtype.kind in "iuf"


def number_column(name: str, values: pd.Series) -> NumberColumn:
    present = values.dropna().to_numpy(dtype=float)
    edges = (
        np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1]))
        if len(present)
        else np.array([])
    )
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    expected = counts / max(counts.sum(), 1)
    low, high = (float(present.min()), float(present.max())) if len(present) else (0.0, 0.0)
    return NumberColumn(name, edges, expected, low, high)


def _column(name: str, values: pd.Series) -> NumberColumn | TextColumn:
    return number_column(name, values) if _is_number(values) else text_column(name, values)


def text_column(name: str, values: pd.Series) -> TextColumn:
    shares = values.dropna().astype(str).value_counts(normalize=True)
    top = shares.head(MAX_CATEGORIES)
    categories = [str(c) for c in top.index]
    expected = list(top.to_numpy())
    if len(shares) > MAX_CATEGORIES:
        categories.append(OTHER)
        expected.append(float(shares.iloc[MAX_CATEGORIES:].sum()))
    known = set(map(str, shares.index))
    return TextColumn(name, categories, np.array([*expected, 0.0]), known=known)


@dataclass
class DriftTally:
    """One job's drift, chunk by chunk, against a reference fixed when it starts."""

    columns: list[NumberColumn | TextColumn]
    reference: dict[str, Any]
    threshold: float = PSI_THRESHOLD
    rows: int = 0

    @classmethod
    def against(cls, reference: pd.DataFrame, described: dict[str, Any]) -> DriftTally:
        columns = [_column(str(name), reference[name]) for name in reference.columns]
        return cls(columns, described)

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        for column in self.columns:
            if column.name in chunk.columns:
                column.add(chunk[column.name])

    def summary(self) -> dict[str, Any]:
        """Statistics only, never rows: what is stored and shown."""
        columns = sorted(
            (c.summary() for c in self.columns),
            key=lambda c: -(c["psi"] if c["psi"] is not None else -1),
        )
        indicative = self.rows < MIN_ROWS
        for column in columns:
            above = column["psi"] is not None and column["psi"] > self.threshold
            column["flagged"] = above and not indicative
        return {
            "rows": self.rows,
            "indicative": indicative,
            "min_rows": MIN_ROWS,
            "threshold": self.threshold,
            "reference": self.reference,
            "flagged": [c["column"] for c in columns if c["flagged"]],
            "columns": columns,
        }
