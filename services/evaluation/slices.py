"""Which slice a row belongs to: a value of a column the person picked, or a bin of a
numeric one. Bins are fixed by the first chunk's quantiles (a stream has no other view of
the whole column), with open ends so later rows always land in one; a column with many
values keeps its first ``MAX_SLICES`` and puts the rest in "other"."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_SLICES = 30
NUMERIC_BINS = 5
MIN_NUMERIC_VALUES = 8  # fewer distinct numbers read better as values than as bins
MISSING, OTHER = "(missing)", "(other)"


@dataclass
class SliceKeys:
    column: str
    edges: np.ndarray | None = None
    decided: bool = False
    values: list[str] = field(default_factory=list)

    def keys(self, cells: pd.Series) -> np.ndarray:
        """Each row's slice, as text."""
        numbers = pd.to_numeric(cells, errors="coerce")
        if not self.decided:
            self._decide(cells, numbers)
        if self.edges is not None:
            return self._binned(numbers)
        text = cells.astype(object).where(cells.notna(), None)
        keys = np.array([MISSING if v is None or v == "" else str(v) for v in text], dtype=object)
        for value in pd.unique(keys):
            if value not in self.values and value != MISSING and len(self.values) < MAX_SLICES:
                self.values.append(value)
        known = set(self.values) | {MISSING}
        return np.where(np.isin(keys, list(known)), keys, OTHER)

    def _decide(self, cells: pd.Series, numbers: pd.Series) -> None:
        """Numeric when every present cell is a number and there are enough of them."""
        self.decided = True
        present = cells.notna() & (cells.astype(str) != "")
        if not present.any() or numbers[present].isna().any():
            return
        distinct = np.unique(numbers[present].to_numpy(dtype=float))
        if len(distinct) < MIN_NUMERIC_VALUES:
            return
        inner = np.unique(np.quantile(distinct, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1]))
        self.edges = inner

    def _binned(self, numbers: pd.Series) -> np.ndarray:
        assert self.edges is not None
        values = numbers.to_numpy(dtype=float)
        which = np.searchsorted(self.edges, values, side="right")
        names = self._bin_names()
        keys = np.array([names[i] for i in which], dtype=object)
        keys[np.isnan(values)] = MISSING
        return keys

    def _bin_names(self) -> list[str]:
        edges = [f"{e:g}" for e in self.edges] if self.edges is not None else []
        names = [f"< {edges[0]}"]
        names += [f"{low} to < {high}" for low, high in itertools.pairwise(edges)]
        return [*names, f"≥ {edges[-1]}"]

    def order(self) -> list[str]:
        """The slices in a reader's order: bins low to high, values as first seen."""
        if self.edges is not None:
            return [*self._bin_names(), MISSING]
        return [*self.values, OTHER, MISSING]
