"""Class names a model declares for its predictions, so results read ``0 · setosa``.

A data scientist sets the tag ``console.class_labels`` on the registered model (for all its
versions) or on one version (which wins), as JSON: a list (``["setosa", "versicolor"]`` for
classes 0, 1, …) or an object (``{"0": "stays", "1": "leaves"}``).
"""

from __future__ import annotations

import json
from typing import Any

LABELS_TAG = "console.class_labels"
MAX_LABELS = 1000
MAX_LABEL_CHARS = 100


def class_labels(tags: dict[str, str]) -> dict[str, str] | None:
    """Class value (as text) → name, from the tag; None when there is none or it does not
    read (a broken tag never breaks a prediction)."""
    raw = tags.get(LABELS_TAG)
    if not raw:
        return None
    try:
        declared: Any = json.loads(raw)
    except ValueError:
        return None
    if isinstance(declared, list):
        declared = {str(i): name for i, name in enumerate(declared)}
    if not isinstance(declared, dict) or not 0 < len(declared) <= MAX_LABELS:
        return None
    return {str(k): str(v)[:MAX_LABEL_CHARS] for k, v in declared.items()}


def label_of(labels: dict[str, str] | None, value: Any) -> str | None:
    """The name of one predicted value (``1``, ``1.0`` and ``"1"`` are the same class)."""
    if labels is None or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return labels.get(str(value))
