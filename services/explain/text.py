"""Free-text input columns: a review, a message, a description. A form gives them a box of
several lines rather than one line and a list of categories, and an explanation says that
the whole text counts as one feature.

A string column is free text when its training values are long (median over
``LONG_TEXT_CHARS`` characters) or when the model's owner declares it
(services/registry/text_columns.py).
"""

from __future__ import annotations

import pandas as pd

LONG_TEXT_CHARS = 40


def is_free_text(values: pd.Series) -> bool:
    """Text whose typical value is long: a median over ``LONG_TEXT_CHARS`` characters."""
    texts = values.dropna()
    texts = texts[texts.map(lambda v: isinstance(v, str))]
    return bool(len(texts)) and float(texts.str.len().median()) > LONG_TEXT_CHARS


def text_columns(reference: pd.DataFrame, declared: frozenset[str]) -> frozenset[str]:
    """The reference's free-text columns: declared, or long."""
    return frozenset(
        str(name)
        for name in reference.columns
        if str(name) in declared or is_free_text(reference[name])
    )
