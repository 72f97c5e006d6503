"""The input columns a model's owner declares to be free text (a review, a message), so the
form gives them a box of several lines and explanations treat each as one feature.

The tag ``console.text_columns``, on the registered model or on one version (which wins): a
JSON list (``["review"]``) or names separated by commas (``review,notes``). Columns whose
training values are long count as free text without it (services/explain/text.py).
"""

from __future__ import annotations

import json

TEXT_COLUMNS_TAG = "console.text_columns"


def declared_text_columns(tags: dict[str, str]) -> frozenset[str]:
    """The columns the tag names; none when there is no tag (or it does not read)."""
    raw = (tags.get(TEXT_COLUMNS_TAG) or "").strip()
    if not raw:
        return frozenset()
    try:
        named = json.loads(raw) if raw.startswith("[") else raw.split(",")
    except ValueError:
        return frozenset()
    if not isinstance(named, list):
        return frozenset()
    return frozenset(str(name).strip() for name in named if str(name).strip())
