"""What a loaded model is made of, as far as an explainer cares: the scikit-learn estimator
behind the pyfunc, the preprocessing steps of a pipeline, the final estimator, its classes;
and which of the user's input columns each column the final estimator sees comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.scoring.models import LoadedModel

OWNER_SAMPLE_ROWS = 200


@dataclass
class ModelParts:
    """``raw``: the estimator behind the pyfunc (None for a model of unknown structure);
    ``final``: its last step; ``preprocess``: the steps before it (None: none)."""

    raw: Any
    final: Any
    preprocess: Callable[[pd.DataFrame], np.ndarray] | None
    classes: list[Any] | None

    @property
    def has_probabilities(self) -> bool:
        return self.raw is not None and hasattr(self.raw, "predict_proba")

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows as the final estimator sees them (dense floats)."""
        if self.preprocess is None:
            return np.asarray(frame, dtype=float)
        return dense(self.preprocess(frame))


def dense(matrix: Any) -> np.ndarray:
    to_dense = getattr(matrix, "toarray", None)
    return np.asarray(to_dense() if to_dense else matrix, dtype=float)


def model_parts(model: LoadedModel) -> ModelParts:
    raw = _raw_estimator(model.pyfunc)
    if raw is None:
        return ModelParts(None, None, None, None)
    classes = (
        list(raw.classes_) if hasattr(raw, "classes_") and hasattr(raw, "predict_proba") else None
    )
    steps = getattr(raw, "steps", None)
    if steps and len(steps) > 1:
        return ModelParts(raw, steps[-1][1], raw[:-1].transform, classes)
    return ModelParts(raw, steps[-1][1] if steps else raw, None, classes)


def _raw_estimator(pyfunc: Any) -> Any:
    """The scikit-learn-like object behind the pyfunc; None for custom pyfunc models (their
    ``predict`` is all we know of them)."""
    get_raw = getattr(pyfunc, "get_raw_model", None)
    if get_raw is None:
        return None
    try:
        raw = get_raw()
    except Exception:  # flavours without a raw model say so in their own way
        return None
    return raw if hasattr(raw, "predict") and hasattr(raw, "fit") else None


def input_owners(parts: ModelParts, reference: pd.DataFrame) -> list[int | None] | None:
    """For each column the final estimator sees, the input column it comes from (None: from
    none, a constant). Found by changing one input column at a time on reference rows and
    seeing which transformed columns move, so any column-wise preprocessing (one-hot,
    scaling, imputing) maps back. None when a transformed column mixes several inputs
    (polynomial features): contributions then cannot be summed back."""
    sample = reference.head(OWNER_SAMPLE_ROWS).reset_index(drop=True)
    base = parts.transform(sample)
    owners: list[int | None] = [None] * base.shape[1]
    if parts.preprocess is None:
        return list(range(base.shape[1]))
    for position, column in enumerate(sample.columns):
        moved = np.zeros(base.shape[1], dtype=bool)
        for changed in _changed_columns(sample, column):
            moved |= ~np.isclose(parts.transform(changed), base, equal_nan=True).all(axis=0)
        for index in np.flatnonzero(moved):
            if owners[index] is not None:
                return None
            owners[index] = position
    return owners


def _changed_columns(sample: pd.DataFrame, column: str) -> list[pd.DataFrame]:
    """``sample`` with ``column`` reversed and rolled (two changes, so a value that happens to
    land on itself in one still moves in the other)."""
    values = sample[column].to_numpy()
    changed = []
    for shuffled in (values[::-1], np.roll(values, 1)):
        frame = sample.copy()
        frame[column] = shuffled
        changed.append(frame)
    return changed


def summed_by_owner(values: np.ndarray, owners: list[int | None], inputs: int) -> np.ndarray:
    """Transformed-column values (rows × columns) summed into input columns; values of
    columns owned by none are dropped (they are constant, so theirs are zero)."""
    summed = np.zeros((values.shape[0], inputs))
    for index, owner in enumerate(owners):
        if owner is not None:
            summed[:, owner] += values[:, index]
    return summed
