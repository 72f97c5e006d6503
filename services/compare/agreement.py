"""How far versions' answers agree, tallied chunk by chunk so a file of any size has it:
the agreement rate, the disagreeing rows, a crosstab of classes or the mean absolute
difference of numbers. Plain data."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.registry.labels import label_of

CLASSES, NUMBERS = "classes", "numbers"
# Regressors rarely give bit-identical floats; rows this close count as agreeing.
RELATIVE_TOLERANCE = 1e-6
MAX_CROSSTAB_CLASSES = 30
KEPT_DISAGREEMENTS = 10_000  # row indexes listed for a file; the count is always exact


def kind_of(columns: list[list[Any]]) -> str:
    """Numbers when every answer is a float and some are not whole (a regressor); classes
    otherwise (class numbers, names, booleans, anything structured)."""
    values = [v for column in columns for v in column if v is not None]
    floats = all(isinstance(v, float) for v in values)
    whole = all(float(v).is_integer() for v in values) if floats else True
    return NUMBERS if values and floats and not whole else CLASSES


def _key(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1 and 1.0 are the same class
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _same(values: tuple[Any, ...], kind: str) -> bool:
    if kind == NUMBERS:
        return all(_close(v, values[0]) for v in values)
    return len({_key(v) for v in values}) == 1


@dataclass
class Tally:
    """Answers of several versions (one list per version, same rows), added chunk by chunk."""

    kind: str | None = None
    rows: int = 0
    disagreeing: int = 0
    disagreements: list[int] = field(default_factory=list)
    pairs: Counter = field(default_factory=Counter)
    difference_sum: float = 0.0
    differences: int = 0
    keep: int = KEPT_DISAGREEMENTS

    def add(self, columns: list[list[Any]]) -> list[int]:
        """Tally one chunk; the chunk's own disagreeing row positions."""
        if self.kind is None and any(columns[0]):
            self.kind = kind_of(columns)
        kind = self.kind or CLASSES
        local = [
            i for i, values in enumerate(zip(*columns, strict=True)) if not _same(values, kind)
        ]
        room = max(self.keep - len(self.disagreements), 0)
        self.disagreements.extend(self.rows + i for i in local[:room])
        self.disagreeing += len(local)
        first, second = columns[0], columns[1]
        if kind == NUMBERS:
            for a, b in zip(first, second, strict=True):
                if a is not None and b is not None:
                    self.difference_sum += abs(float(a) - float(b))
                    self.differences += 1
        else:
            self.pairs.update(
                (str(_key(a)), str(_key(b))) for a, b in zip(first, second, strict=True)
            )
        self.rows += len(first)
        return local

    @property
    def agreement(self) -> float | None:
        return None if not self.rows else (self.rows - self.disagreeing) / self.rows

    @property
    def mean_absolute_difference(self) -> float | None:
        return self.difference_sum / self.differences if self.differences else None

    def crosstab(self, labels: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Counts of (first version's class, second version's class); None for numbers or
        past ``MAX_CROSSTAB_CLASSES`` classes (a table nobody could read)."""
        if self.kind == NUMBERS or not self.pairs:
            return None
        rows = sorted({a for a, _ in self.pairs}, key=_order)
        columns = sorted({b for _, b in self.pairs}, key=_order)
        if max(len(rows), len(columns)) > MAX_CROSSTAB_CLASSES:
            return None
        return {
            "rows": [_named(value, labels) for value in rows],
            "columns": [_named(value, labels) for value in columns],
            "counts": [[self.pairs.get((a, b), 0) for b in columns] for a in rows],
        }


def _order(value: str) -> tuple[int, float | str]:
    try:
        return 0, float(value)
    except ValueError:
        return 1, value


def _named(value: str, labels: dict[str, str] | None) -> str:
    name = label_of(labels, value) if labels else None
    return f"{value} · {name}" if name else value
