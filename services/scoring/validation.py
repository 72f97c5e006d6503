"""Check input against a model's signature before predicting, in words a user understands.

Conversions follow MLflow's rules (an integer may feed a double column, a double may not feed a
long one), with one leniency: a double with no fractional part (``30.0``) is accepted for an
integer column, since JSON writers and spreadsheets produce those and nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_numeric_dtype,
    is_object_dtype,
    is_string_dtype,
)

from services.errors import DimensionMismatch, InvalidInput, SchemaMismatch, cut
from services.registry.signature import ColumnInfo, ParamInfo, SignatureInfo, TensorInfo
from services.scoring.payload import ModelInput

NUMPY_TYPES = {
    "long": "int64",
    "integer": "int32",
    "double": "float64",
    "float": "float32",
    "boolean": "bool",
}
TYPE_WORDS = {
    "long": "a whole number",
    "integer": "a whole number",
    "double": "a number",
    "float": "a number",
    "boolean": "true or false",
    "string": "text",
    "datetime": "a date/time",
    "binary": "base64 text (bytes)",
}
MAX_VALUE_SHOWN = 40


@dataclass
class ConformedInput:
    """What the model receives, plus what the user should hear about their input."""

    data: pd.DataFrame | np.ndarray
    params: dict[str, Any] | None
    ignored_columns: list[str] = field(default_factory=list)
    exact: bool = False  # exactly what MLflow's own schema check would hand the model

    @property
    def rows(self) -> int:
        return len(self.data)


def _shown(value: Any) -> str:
    """The value as JSON would write it (users send JSON and CSV), cut short."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except ValueError:  # a whole number of thousands of digits: Python will not write it
        return "a whole number too long to show"
    return text if len(text) <= MAX_VALUE_SHOWN else text[: MAX_VALUE_SHOWN - 1] + "…"


def _expected_columns(columns: list[ColumnInfo]) -> str:
    return ", ".join(f"{c.name} ({c.type})" for c in columns)


def _comparable(name: str) -> str:
    return re.sub(r"[\s_.-]+", "_", name.strip().lower())


RENAME_LIKENESS = 0.8  # difflib's ratio from which a column is offered as a misspelling
RENAME_MARGIN = 0.05  # ... unless another is about as alike: then it is not offered
MAX_RENAME_PAIRS = 2_500  # a wider input than this is not searched (an error stays quick)


def likely_renames(missing: Iterable[str], unread: Iterable[object]) -> dict[str, str]:
    """For each missing column, the column the model does not read that is probably it,
    spelt a little differently (``Petal Width``, ``petal_widht``): ``{unread: missing}``.
    The most alike pairs are matched first, each column once; a column as near to two
    others as to one is left out, since a wrong rename would feed one column as another."""
    wanted, given = list(dict.fromkeys(missing)), list(dict.fromkeys(str(n) for n in unread))
    if not wanted or not given or len(wanted) * len(given) > MAX_RENAME_PAIRS:
        return {}
    forms = {g: _comparable(g) for g in given}  # each name normalised once
    close = {
        (w, g): score
        for w in wanted
        for g, score in _likenesses(w, forms).items()
        if score >= RENAME_LIKENESS
    }
    by_wanted: dict[str, list[tuple[float, str]]] = {}
    by_given: dict[str, list[tuple[float, str]]] = {}
    for (w, g), score in close.items():
        by_wanted.setdefault(w, []).append((score, g))
        by_given.setdefault(g, []).append((score, w))
    found: dict[str, str] = {}
    for (w, g), score in sorted(close.items(), key=lambda item: (-item[1], item[0])):
        if w in found.values() or g in found:
            continue
        rival = max(_runner_up(by_wanted[w], g), _runner_up(by_given[g], w))
        if score - rival >= RENAME_MARGIN:
            found[g] = w
    return {g: w for w in wanted for g, w2 in found.items() if w2 == w}


def _runner_up(scores: list[tuple[float, str]], chosen: str) -> float:
    """The best score among the others than ``chosen`` (0 with none)."""
    return max((score for score, name in scores if name != chosen), default=0.0)


def _likenesses(wanted: str, forms: dict[str, str]) -> dict[str, float]:
    """difflib's ratio of ``wanted`` to each given name (by its normalised form), worked out
    only where its cheap upper bounds allow a close match (most pairs of a wide input end
    there)."""
    matcher = difflib.SequenceMatcher(None)
    matcher.set_seq2(_comparable(wanted))  # difflib caches what it knows of the second
    found = {}
    for name, form in forms.items():
        matcher.set_seq1(form)
        if (
            matcher.real_quick_ratio() >= RENAME_LIKENESS
            and matcher.quick_ratio() >= RENAME_LIKENESS
        ):
            found[name] = matcher.ratio()
    return found


def rename_advice(renames: dict[str, str]) -> str:
    """``"petal_widht" looks like petal_width: rename it.``; "" when nothing looks alike."""
    if not renames:
        return ""
    pairs = "; ".join(
        f'"{cut(given, 40)}" looks like {wanted}' for given, wanted in renames.items()
    )
    return f"{pairs}: rename {'it' if len(renames) == 1 else 'them'}."


def conform(model_input: ModelInput, signature: SignatureInfo) -> ConformedInput:
    """Return input the model accepts, or raise an error that names what to fix."""
    if model_input.rows == 0:
        raise InvalidInput("The input has no rows: send at least one record.")
    if not signature.present:
        return ConformedInput(model_input.data, model_input.params)
    check_params(model_input.params, signature.params)
    if signature.is_tensor:
        return ConformedInput(_conform_tensor(model_input, signature), model_input.params)
    frame = _as_frame(model_input.data, signature.columns)
    data, ignored = conform_frame(frame, signature.columns)
    return ConformedInput(data, model_input.params, ignored)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What a scalar parameter of each type takes, as MLflow converts safely (an integer may be a
# double; a double is not a long; text is never a number).
PARAM_CHECKS = {
    "double": _is_number,
    "float": _is_number,
    "long": _is_whole,
    "integer": _is_whole,
    "boolean": lambda value: isinstance(value, bool),
    "string": lambda value: isinstance(value, str),
}


def check_params(params: dict[str, Any] | None, declared: list[ParamInfo]) -> None:
    """Each declared scalar parameter the request gives is of its type. Parameters the model
    does not declare are left to MLflow (which ignores them), and so are lists."""
    for param in declared:
        value = (params or {}).get(param.name)
        accepts = PARAM_CHECKS.get(param.type)
        if value is None or accepts is None or isinstance(value, list | dict):
            continue
        if not accepts(value):
            words = TYPE_WORDS.get(param.type, param.type)
            raise SchemaMismatch(
                f"Parameter {param.name} takes {words} ({param.type}), but the request gives "
                f"{_shown(value)}.",
                hint=f"Send {words}, or leave it out for its default ({_shown(param.default)}).",
            )


def _as_frame(data: pd.DataFrame | np.ndarray, columns: list[ColumnInfo]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    raise SchemaMismatch(
        "This model takes named columns, but the input has plain rows without names.",
        hint=f"Send records with these keys: {_expected_columns(columns)}.",
    )


def conform_frame(frame: pd.DataFrame, columns: list[ColumnInfo]) -> tuple[pd.DataFrame, list[str]]:
    """Model-ready columns in signature order, and the names of columns the model ignores."""
    known = {c.name for c in columns}
    ignored = [str(name) for name in frame.columns if name not in known]
    missing = [c for c in columns if c.required and c.name not in frame.columns]
    if missing:
        names = [c.name for c in missing]
        advice = rename_advice(likely_renames(names, ignored))
        raise SchemaMismatch(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(names)}.",
            hint=" ".join(
                filter(None, [advice, f"The model expects: {_expected_columns(columns)}."])
            ),
        )
    if _already_conformed(frame, columns):
        return frame[[c.name for c in columns]], ignored
    conformed = {
        c.name: _convert_column(frame[c.name], c) for c in columns if c.name in frame.columns
    }
    return pd.DataFrame(conformed, index=frame.index), ignored


def _already_conformed(frame: pd.DataFrame, columns: list[ColumnInfo]) -> bool:
    """Every column present, of exactly the model's dtype, with no gaps: nothing to convert.
    The common case (numbers parsed from JSON or CSV), kept cheap for one-row requests."""
    for column in columns:
        target = NUMPY_TYPES.get(column.type)
        if target is None or column.name not in frame.columns:
            return False
        if frame[column.name].dtype != target:
            return False
    return not frame[[c.name for c in columns]].isna().to_numpy().any()


def _first_row(mask: pd.Series) -> int:
    """1-based position of the first True in ``mask``."""
    return int(np.argmax(mask.to_numpy())) + 1


def _mismatch(column: ColumnInfo, series: pd.Series, bad: pd.Series) -> SchemaMismatch:
    row = _first_row(bad)
    value = series.iloc[row - 1]
    count = int(bad.sum())
    others = f" ({count - 1} more row{'s' if count > 2 else ''} too)" if count > 1 else ""
    return SchemaMismatch(
        f"Column {column.name} expects {TYPE_WORDS.get(column.type, column.type)} "
        f"({column.type}), but row {row} has {_shown(value)}{others}.",
        hint="Fix the value or its type (numbers without quotes, booleans as true/false).",
    )


def _convert_column(series: pd.Series, column: ColumnInfo) -> pd.Series:
    empty = series.isna()
    if empty.any():
        if column.required:
            raise SchemaMismatch(
                f"Column {column.name} is required, but row {_first_row(empty)} is empty.",
                hint="Fill in every required value.",
            )
        return series  # optional columns with gaps go to the model as they are
    converter = _CONVERTERS.get(column.type) or (_array if is_array(column) else None)
    return converter(series, column) if converter else series


def is_array(column: ColumnInfo) -> bool:
    return column.type.startswith("Array(")


def _array(series: pd.Series, column: ColumnInfo) -> pd.Series:
    """A list per row; what is in it MLflow checks against the element type."""
    bad = ~series.map(lambda v: isinstance(v, (list, tuple, np.ndarray)))
    if bad.any():
        row = _first_row(bad)
        raise SchemaMismatch(
            f"Column {column.name} takes a list per row ({column.type}), but row {row} has "
            f"{_shown(series.iloc[row - 1])}.",
            hint=f'Send a list, e.g. "{column.name}": [ … ], even for one value.',
        )
    return series


def _numeric(series: pd.Series, column: ColumnInfo) -> pd.Series:
    if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype):
        return _checked_numeric(series, series, column)
    values = series.astype(object)  # map on pandas' string dtype would give strings back
    is_bool = values.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
    is_number = values.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))).astype(
        bool
    )
    bad = is_bool | ~is_number
    if bad.any():
        raise _mismatch(column, series, bad)
    try:
        numbers = pd.to_numeric(series)
    except OverflowError:  # a whole number beyond any double
        target = NUMPY_TYPES[column.type]
        if target.startswith("int"):  # its own range is the one to name
            raise _too_large(column, series, out_of_range(values, target), target) from None
        huge = values.map(lambda v: isinstance(v, int) and abs(v) > sys.float_info.max)
        raise _beyond_double(column, series, huge.astype(bool)) from None
    return _checked_numeric(series, numbers, column)


def _beyond_double(column: ColumnInfo, series: pd.Series, bad: pd.Series) -> SchemaMismatch:
    row = _first_row(bad)
    return SchemaMismatch(
        f"Column {column.name} takes numbers ({column.type}), but row {row} has a whole "
        f"number beyond {sys.float_info.max:.1e}: too large to store.",
        hint="Check the value; a number this large is usually a mistake.",
    )


def _checked_numeric(series: pd.Series, values: pd.Series, column: ColumnInfo) -> pd.Series:
    target = NUMPY_TYPES[column.type]
    if target.startswith("int"):
        outside = out_of_range(values, target)
        if outside.any():
            raise _too_large(column, series, outside, target)
        fractional = values != np.floor(values.astype(float))
        if fractional.any():
            raise _mismatch(column, series, fractional)
    return values.astype(target)


def out_of_range(values: pd.Series, target: str) -> pd.Series:
    """Where a whole number cannot be stored as ``target`` (``int64`` …) without wrapping
    around: numpy would turn 2**63 into -2**63, and 3e9 into a negative int32."""
    low, high = int(np.iinfo(target).min), int(np.iinfo(target).max)
    if values.dtype.kind in "iu":
        return (
            (values > high) | (values < low)
            if values.dtype.kind == "u" or target != "int64"
            else pd.Series(False, index=values.index)
        )
    if values.dtype.kind == "f":
        return (values < float(low)) | (values >= float(high) + 1)  # 2**63 is exact as float
    return values.map(lambda v: isinstance(v, (int, float)) and not low <= v <= high).astype(bool)


def _too_large(
    column: ColumnInfo, series: pd.Series, bad: pd.Series, target: str
) -> SchemaMismatch:
    row = _first_row(bad)
    info = np.iinfo(target)
    return SchemaMismatch(
        f"Column {column.name} takes whole numbers from {info.min:,} to {info.max:,} "
        f"({column.type}), but row {row} has {_shown(series.iloc[row - 1])}: too large to store.",
        hint="Check the value; a number this large is usually a mistake (or an ID sent as a "
        "number).",
    )


def _boolean(series: pd.Series, column: ColumnInfo) -> pd.Series:
    if is_bool_dtype(series.dtype):
        return series.astype(bool)
    bad = ~series.map(lambda v: isinstance(v, (bool, np.bool_)))
    if bad.any():
        raise _mismatch(column, series, bad)
    return series.astype(bool)


def _string(series: pd.Series, column: ColumnInfo) -> pd.Series:
    if is_string_dtype(series.dtype) and not is_object_dtype(series.dtype):
        return series.astype(object)
    bad = ~series.map(lambda v: isinstance(v, str))
    if bad.any():
        raise _mismatch(column, series, bad)
    return series.astype(object)


def _binary(series: pd.Series, column: ColumnInfo) -> pd.Series:
    """Bytes travel in JSON and CSV as base64 text, as MLflow's scoring protocol says; the
    model gets the bytes. Text that is not base64 is refused with its row (MLflow's server
    drops the characters it cannot read, or fails with a line of its traceback)."""
    decoded = series.map(base64_bytes)
    bad = decoded.map(lambda v: v is None)
    if bad.any():
        raise SchemaMismatch(
            f"Column {column.name} takes bytes written as base64 text (binary), but row "
            f"{_first_row(bad)} has {_shown(series[bad].iloc[0])}, which is not base64.",
            hint="Encode the bytes in base64 (in Python: base64.b64encode(data).decode()).",
        )
    return decoded.astype(object)


def base64_bytes(value: Any) -> bytes | None:
    """The bytes ``value`` stands for (base64 text; line breaks allowed, as MLflow writes
    them), or None when it is not base64."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _datetime(series: pd.Series, column: ColumnInfo) -> pd.Series:
    parsed = pd.to_datetime(series, errors="coerce")
    if parsed.isna().any():  # pandas takes one format from the first value: "2024-03-01
        parsed = _each_datetime(series)  # 10:00" then fails "2023-12-31"; read each alone
    bad = parsed.isna()
    if bad.any():
        raise _mismatch(column, series, bad)
    return parsed


def _each_datetime(series: pd.Series) -> pd.Series:
    one_by_one = series.map(lambda value: pd.to_datetime(value, errors="coerce"))
    try:
        return pd.to_datetime(one_by_one)
    except (TypeError, ValueError):  # offsets that differ: the values as they were read
        return one_by_one


_CONVERTERS = {
    "long": _numeric,
    "integer": _numeric,
    "double": _numeric,
    "float": _numeric,
    "boolean": _boolean,
    "string": _string,
    "datetime": _datetime,
    "binary": _binary,
}


def _conform_tensor(model_input: ModelInput, signature: SignatureInfo) -> np.ndarray:
    tensor: TensorInfo = signature.tensors[0]
    data = model_input.data
    array = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
    expected = tensor.features
    if array.ndim == 1 and expected is not None:
        array = array.reshape(1, -1) if len(array) == expected else array.reshape(-1, 1)
    if expected is not None and (array.ndim != 2 or array.shape[1] != expected):
        got = array.shape[1] if array.ndim == 2 else "a different shape"
        raise DimensionMismatch(
            f"Dimension mismatch: the model expects {expected} values per row, got {got}.",
            hint=f"Send rows of exactly {expected} numbers, e.g. "
            f'{{"inputs": [[{", ".join(["0.0"] * expected)}]]}}.',
        )
    try:
        return array.astype(tensor.dtype)
    except (TypeError, ValueError):
        raise SchemaMismatch(
            f"The model expects {tensor.dtype} values; some inputs are not numbers.",
            hint="Send numbers without quotes.",
        ) from None
