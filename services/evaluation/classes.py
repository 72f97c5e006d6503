"""The classes an evaluation knows, and each label or prediction as one of them.

A label matches a class written as the model answers it (``1``, ``1.0`` and ``"1"`` are the
same class) or by the name the model declares for it (``console.class_labels``: ``setosa``
for class 0). A label that is neither is *unknown*: the row is counted and listed, never
scored against a class it cannot be.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from services.scoring.models import LoadedModel
from services.scoring.prediction import plain

MISSING, UNKNOWN = -1, -2  # codes of labels that cannot be evaluated


def class_key(value: Any) -> str | None:
    """The text a class is known by; None for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if not text:
        return None
    try:  # "1.0" in a CSV is the class 1
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and "." in text else text


def model_classes(model: LoadedModel) -> list[Any] | None:
    """The classes a classifier was fitted on (``classes_``), in its own order."""
    try:
        raw = model.pyfunc.get_raw_model()
    except Exception:  # flavours without a raw model have no classes to read
        return None
    classes = getattr(raw, "classes_", None)
    return None if classes is None else [plain(c) for c in classes]


class Classes:
    """Known classes, each with a code; predictions outside them are added as they come
    (a model without ``classes_``), labels outside them are unknown when the classes are
    ``fixed``."""

    def __init__(self, values: list[Any], names: dict[str, str] | None, fixed: bool) -> None:
        self.keys: list[str] = []
        self.codes: dict[str, int] = {}
        self.names = dict(names or {})
        self.fixed = fixed
        for value in values:
            self.code(class_key(value))
        if fixed and not values:  # only declared names: those keys are the classes
            for key in self.names:
                self.code(key)
        self.by_name = {name: key for key, name in self.names.items()}

    def code(self, key: str | None) -> int:
        if key is None:
            return MISSING
        if key not in self.codes:
            self.codes[key] = len(self.keys)
            self.keys.append(key)
        return self.codes[key]

    def label_codes(self, labels: pd.Series) -> np.ndarray:
        """Each label's class code, or ``MISSING`` / ``UNKNOWN``."""
        found: dict[Any, int] = {}
        for value in pd.unique(labels.astype(object)):
            key = class_key(value)
            key = self.by_name.get(key, key) if key not in self.codes else key
            if key is None:
                found[value] = MISSING
            elif key in self.codes or not self.fixed:
                found[value] = self.code(key)
            else:
                found[value] = UNKNOWN
        return _mapped(labels, found)

    def prediction_codes(self, predictions: pd.Series) -> np.ndarray:
        found = {value: self.code(class_key(value)) for value in pd.unique(predictions)}
        return _mapped(predictions, found)

    def shown(self, code: int) -> str:
        """A class as a person reads it: its declared name, else its value."""
        key = self.keys[code]
        return self.names.get(key, key)


def _mapped(values: pd.Series, found: dict[Any, int]) -> np.ndarray:
    """``found`` applied to every value; what it does not match is a missing value (NaN,
    which never equals itself)."""
    codes = values.astype(object).map(found)
    return codes.fillna(MISSING).to_numpy(dtype=np.int64)
