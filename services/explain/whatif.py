"""What-if: the ranges a form's controls may take (from the training reference) and one
row's individual conditional expectation (ICE): the output as one feature sweeps its range
with the other values held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.explain.explainer import VersionExplainer
from services.explain.text import text_columns
from services.registry.labels import label_of
from services.scoring.prediction import plain

MAX_CATEGORIES = 50
ICE_POINTS = 25


@dataclass
class FeatureRange:
    feature: str
    kind: str  # "number", "integer", "category", "boolean", "text"
    low: float | None = None
    high: float | None = None
    categories: list[Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def feature_ranges(
    reference: pd.DataFrame, declared_text: frozenset[str] = frozenset()
) -> list[FeatureRange]:
    """Per input column: its training range, the categories seen in training, or (free
    text, services/explain/text.py) neither: any text goes."""
    free_text = text_columns(reference, declared_text)
    ranges = []
    for column in reference.columns:
        values = reference[column].dropna()
        if str(column) in free_text:
            ranges.append(FeatureRange(str(column), "text"))
        elif values.dtype == bool:
            ranges.append(FeatureRange(str(column), "boolean"))
        elif pd.api.types.is_numeric_dtype(values) and len(values):
            kind = "integer" if pd.api.types.is_integer_dtype(values) else "number"
            ranges.append(FeatureRange(str(column), kind, float(values.min()), float(values.max())))
        else:
            seen = values.astype(str).value_counts().index[:MAX_CATEGORIES]
            ranges.append(FeatureRange(str(column), "category", categories=sorted(seen)))
    return ranges


@dataclass
class IceCurve:
    feature: str
    values: list[Any]
    outputs: list[float]
    explained_output: str
    current: Any
    current_output: float | None = None  # the output for the row as it is
    target: str | None = None  # the predicted class whose probability is swept, by name

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def ice_curve(explainer: VersionExplainer, row: pd.DataFrame, feature: str) -> IceCurve:
    """The output for ``row`` with ``feature`` set to each point of its training range."""
    known = {r.feature: r for r in feature_ranges(explainer.reference.frame, explainer.text)}
    grid = _grid(known[feature]) if feature in known else []
    if not grid:
        grid = [row[feature].iloc[0]]
    sweep = pd.concat([row] * len(grid), ignore_index=True)
    sweep[feature] = pd.Series(grid, dtype=row[feature].dtype)
    target, now = None, None
    if explainer.is_classifier:  # the row's own probabilities: its class, and where it stands
        chances = explainer.probabilities(row[explainer.columns])
        target = int(chances.argmax(axis=1)[0])
        now = float(chances[0, target])
    outputs = explainer.output_of(sweep, target)
    if now is None:
        now = float(explainer.output_of(row, target)[0])
    what = "probability of the predicted class" if target is not None else "predicted value"
    return IceCurve(
        feature,
        [plain(v) for v in grid],
        [float(v) for v in outputs],
        what,
        plain(row[feature].iloc[0]),
        now,
        _class_name(explainer, target),
    )


def _class_name(explainer: VersionExplainer, target: int | None) -> str | None:
    """``1 · leaves`` for a class with a declared name, ``1`` otherwise."""
    if target is None:
        return None
    value = plain(explainer.parts.classes[target])
    name = label_of(explainer.model.labels, value)
    return f"{value} · {name}" if name else str(value)


def _grid(feature: FeatureRange) -> list[Any]:
    if feature.kind == "boolean":
        return [False, True]
    if feature.kind == "category":
        return list(feature.categories or [])
    if feature.low is None or feature.high is None:
        return []
    points = np.linspace(feature.low, feature.high, ICE_POINTS)
    if feature.kind == "integer":
        return sorted({round(float(p)) for p in points})
    return [float(p) for p in points]
