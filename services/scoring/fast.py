"""The fast path for a few clean records: straight to the model-ready frame.

Most API calls and every form prediction send one record (or a handful) whose values are
already of the signature's types. For those, parsing into a DataFrame, conforming it column by
column and MLflow checking the schema again cost more than the model itself. Here such input
becomes the frame the slow path would have made, in one step.

This path only ever says yes or "not mine": anything it is not sure of (a missing, extra or
optional column, a value of another type, a number out of range, ``params``, another format)
goes the usual way (``parse_payload`` → ``conform``), so every check and every message stays
the one users know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from services.registry.signature import ColumnInfo, SignatureInfo
from services.scoring.payload import DATAFRAME_RECORDS, DATAFRAME_SPLIT, SCORING_FORMATS
from services.scoring.validation import NUMPY_TYPES, ConformedInput

FAST_MAX_ROWS = 64
FAST_TYPES = {"double", "long", "boolean"}  # where MLflow's rules and ours are plain equality
LONG_RANGE = 2**63
EXACT_INT_IN_DOUBLE = 2**53


@dataclass(frozen=True)
class FastShape:
    """A payload this path can read: its column names (None: each record names its own) and
    its rows. Whatever has this shape, ``parse_payload`` reads too."""

    columns: list[str] | None
    rows: list[Any]


def fast_shape(payload: Any) -> FastShape | None:
    """One record, a short list of records, or a short ``dataframe_split``; else None."""
    if isinstance(payload, dict) and list(payload) == [DATAFRAME_SPLIT]:
        return _split_shape(payload[DATAFRAME_SPLIT])
    if isinstance(payload, dict) and list(payload) == [DATAFRAME_RECORDS]:
        payload = payload[DATAFRAME_RECORDS]
    elif isinstance(payload, dict) and not any(key in payload for key in SCORING_FORMATS):
        payload = [payload]
    if not isinstance(payload, list) or not 0 < len(payload) <= FAST_MAX_ROWS:
        return None
    if all(isinstance(record, dict) and record for record in payload):
        return FastShape(None, payload)
    return None


def fast_conformed(shape: FastShape, signature: SignatureInfo) -> ConformedInput | None:
    """The model-ready input for ``shape``, or None: take the usual path."""
    if not _fast_signature(signature):
        return None
    names = [c.name for c in signature.columns]
    rows = _record_rows(shape.rows, names) if shape.columns is None else _split_rows(shape, names)
    if rows is None:
        return None
    values = [_typed_column(rows, i, c) for i, c in enumerate(signature.columns)]
    if any(v is None for v in values):
        return None
    return ConformedInput(_frame(values, signature.columns), None, exact=True)


def _split_shape(split: Any) -> FastShape | None:
    if not isinstance(split, dict) or sorted(split) != ["columns", "data"]:
        return None
    columns, data = split["columns"], split["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        return None
    if len(set(columns)) != len(columns) or not isinstance(data, list):
        return None
    if not 0 < len(data) <= FAST_MAX_ROWS:
        return None
    if not all(isinstance(row, list) and len(row) == len(columns) for row in data):
        return None
    return FastShape(columns, data)


def _fast_signature(signature: SignatureInfo) -> bool:
    return (
        signature.present
        and not signature.is_tensor
        and not signature.params
        and bool(signature.columns)
        and all(c.required and c.type in FAST_TYPES for c in signature.columns)
    )


def _record_rows(records: list[dict[str, Any]], names: list[str]) -> list[list[Any]] | None:
    """Each record's values in signature order, when the records name exactly those."""
    rows = []
    for record in records:
        if len(record) != len(names):
            return None
        try:
            rows.append([record[name] for name in names])
        except KeyError:
            return None
    return rows


def _split_rows(shape: FastShape, names: list[str]) -> list[list[Any]] | None:
    return shape.rows if shape.columns == names else None


def _typed_column(rows: list[list[Any]], position: int, column: ColumnInfo) -> list[Any] | None:
    """The column's values when each is already of its type; None at the first doubt."""
    values = [row[position] for row in rows]
    if column.type == "boolean":
        ok = all(type(v) is bool for v in values)
    elif column.type == "long":
        ok = all(type(v) is int and -LONG_RANGE <= v < LONG_RANGE for v in values)
    else:  # double: bool is an int to Python, not to MLflow
        ok = all((type(v) is float and math.isfinite(v))
                 or (type(v) is int and abs(v) < EXACT_INT_IN_DOUBLE) for v in values)  # fmt: skip
    return values if ok else None


def _frame(values: list[list[Any]], columns: list[ColumnInfo]) -> pd.DataFrame:
    names = _names(tuple(c.name for c in columns))
    dtypes = {NUMPY_TYPES[c.type] for c in columns}
    if len(dtypes) == 1:  # one 2-D block: several times cheaper than a frame of columns
        block = np.array(values, dtype=dtypes.pop()).T
        return pd.DataFrame(block, columns=names, copy=False)
    data = {c.name: np.array(v, dtype=NUMPY_TYPES[c.type])
            for c, v in zip(columns, values, strict=True)}  # fmt: skip
    return pd.DataFrame(data, columns=names, copy=False)


@lru_cache(maxsize=256)
def _names(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names), dtype=object)
