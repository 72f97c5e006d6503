"""The fast path for clean records: straight to the model-ready frame.

Most API calls and every form prediction send one record (or a handful) whose values are
already of the signature's types, and batch clients send thousands of them. For those,
parsing into a DataFrame, conforming it column by column and MLflow checking the schema again
cost more than the model itself (for one row) or as much as the HTTP round trip (for
thousands). Here such input becomes the frame the slow path would have made, in one step:
each column's values taken out of the records once, their Python types checked as a set (a
bool is an int to Python, so ``np.array`` alone would turn ``true`` into ``1.0``), then one
array per dtype, whose ranges numpy checks in bulk.

This path only ever says yes or "not mine": anything it is not sure of (a missing, extra or
optional column, a value of another type, a number out of range, ``params``, another format)
goes the usual way (``parse_payload`` → ``conform``), so every check and every message stays
the one users know.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from services.registry.signature import ColumnInfo, SignatureInfo
from services.scoring.payload import DATAFRAME_RECORDS, DATAFRAME_SPLIT, SCORING_FORMATS
from services.scoring.validation import NUMPY_TYPES, ConformedInput

FAST_TYPES = {"double", "long", "boolean"}  # where MLflow's rules and ours are plain equality
# The Python types each may hold here. ``type(v)``, not ``isinstance``: True is an int.
PLAIN_TYPES = {"double": {float, int}, "long": {int}, "boolean": {bool}}
EXACT_INT_IN_DOUBLE = 2**53


@dataclass(frozen=True)
class FastShape:
    """A payload this path can read: its column names (None: each record names its own) and
    its rows. Whatever has this shape, ``parse_payload`` reads too."""

    columns: list[str] | None
    rows: list[Any]


def fast_shape(payload: Any) -> FastShape | None:
    """One record, a list of records, or a ``dataframe_split`` with column names; else None."""
    if isinstance(payload, dict) and list(payload) == [DATAFRAME_SPLIT]:
        return _split_shape(payload[DATAFRAME_SPLIT])
    if isinstance(payload, dict) and list(payload) == [DATAFRAME_RECORDS]:
        payload = payload[DATAFRAME_RECORDS]
    elif isinstance(payload, dict) and not any(key in payload for key in SCORING_FORMATS):
        payload = [payload]
    if not isinstance(payload, list) or not payload:
        return None
    # set(map(type, ...)) and all(...) loop in C: thousands of records cost little here
    if set(map(type, payload)) == {dict} and all(payload):  # all(): no empty record
        return FastShape(None, payload)
    return None


def fast_conformed(shape: FastShape, signature: SignatureInfo) -> ConformedInput | None:
    """The model-ready input for ``shape``, or None: take the usual path."""
    if not _fast_signature(signature):
        return None
    names = [c.name for c in signature.columns]
    if shape.columns is not None and len({c.type for c in signature.columns}) == 1:
        return _uniform_rows(shape, names, signature.columns[0].type)
    values = (
        _record_columns(shape.rows, names)
        if shape.columns is None
        else _split_columns(shape, names)
    )
    if values is None:
        return None
    kinds = [set(map(type, v)) for v in values]
    if not all(k <= PLAIN_TYPES[c.type] for k, c in zip(kinds, signature.columns, strict=True)):
        return None
    try:
        arrays = _arrays(values, signature.columns)
    except OverflowError:  # a whole number past int64 (or past any double): the usual path's
        return None
    for array, column_values, kind, column in zip(
        arrays, values, kinds, signature.columns, strict=True
    ):
        if column.type == "double" and not _exact_doubles(array, column_values, int in kind):
            return None
    return ConformedInput(_frame(arrays, names), None, exact=True)


def _split_shape(split: Any) -> FastShape | None:
    if not isinstance(split, dict) or sorted(split) != ["columns", "data"]:
        return None
    columns, data = split["columns"], split["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        return None
    if len(set(columns)) != len(columns) or not isinstance(data, list) or not data:
        return None
    if set(map(type, data)) != {list} or set(map(len, data)) != {len(columns)}:
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


def _record_columns(records: list[dict[str, Any]], names: list[str]) -> list[list[Any]] | None:
    """Each signature column's values, when every record names exactly those columns."""
    if set(map(len, records)) != {len(names)}:  # one more or one fewer: ignored or missing
        return None
    try:  # same length, so a KeyError is the only way a record names another column
        return [list(map(itemgetter(name), records)) for name in names]
    except KeyError:
        return None


def _split_columns(shape: FastShape, names: list[str]) -> list[list[Any]] | None:
    if shape.columns != names:
        return None
    return [list(map(itemgetter(i), shape.rows)) for i in range(len(names))]


def _uniform_rows(shape: FastShape, names: list[str], column_type: str) -> ConformedInput | None:
    """``dataframe_split`` rows whose columns all have one type: checked and converted as one
    flat list, row after row (cheaper than a list per column, and the same checks)."""
    if shape.columns != names:
        return None
    flat = list(chain.from_iterable(shape.rows))  # every row has len(names) values
    kinds = set(map(type, flat))
    if not kinds <= PLAIN_TYPES[column_type]:
        return None
    try:
        block = np.fromiter(flat, dtype=NUMPY_TYPES[column_type], count=len(flat))
    except OverflowError:  # a whole number past int64 (or past any double): the usual path's
        return None
    if column_type == "double" and not _exact_doubles(block, flat, int in kinds):
        return None
    block = block.reshape(len(shape.rows), len(names))
    return ConformedInput(
        pd.DataFrame(block, columns=_names(tuple(names)), copy=False), None, exact=True
    )


def _arrays(values: list[list[Any]], columns: list[ColumnInfo]) -> np.ndarray | list[np.ndarray]:
    """One 2-D block when every column has one dtype (a row per column: pandas' own layout,
    so the frame takes it without a copy), else an array per column."""
    dtypes = {NUMPY_TYPES[c.type] for c in columns}
    if len(dtypes) == 1:
        return np.array(values, dtype=dtypes.pop())
    return [np.array(v, dtype=NUMPY_TYPES[c.type]) for v, c in zip(values, columns, strict=True)]


def _exact_doubles(array: np.ndarray, values: list[Any], whole: bool) -> bool:
    """Finite (NaN and infinity: the usual path decides) and, when whole numbers were sent,
    each held exactly (past 2**53 a double rounds them)."""
    if not np.isfinite(array).all():
        return False
    if not whole or (np.abs(array) < EXACT_INT_IN_DOUBLE).all():  # no number that large
        return True
    # some number is that large: a double may be, a whole number may not
    return all(abs(v) < EXACT_INT_IN_DOUBLE for v in values if type(v) is int)


def _frame(arrays: np.ndarray | list[np.ndarray], names: list[str]) -> pd.DataFrame:
    index = _names(tuple(names))
    if isinstance(arrays, np.ndarray):
        return pd.DataFrame(arrays.T, columns=index, copy=False)
    return pd.DataFrame(dict(zip(names, arrays, strict=True)), columns=index, copy=False)


@lru_cache(maxsize=256)
def _names(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names), dtype=object)
