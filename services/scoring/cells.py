"""What is wrong with each row of a table (a file), cell by cell: so one bad row in a big file
costs that row, not the file, and the user reads their own value back.

A cell can be empty, hold a word that means "missing" (``n/a``, ``NULL`` …: spreadsheets and
databases write those), or not read as the column's type. Row numbers in summaries count the
header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype

from services.registry.signature import ColumnInfo
from services.scoring.validation import NUMPY_TYPES, TYPE_WORDS, base64_bytes, out_of_range

MISSING_WORDS = frozenset(
    {"na", "n/a", "#n/a", "#na", "nan", "-nan", "null", "none", "nil", "<na>", "-", "?"}
)
SHOWN_CHARS = 40
HEADER_ROWS = 1
EMPTY, MISSING, WRONG_TYPE, NOT_FINITE, TOO_LARGE = "empty", "missing", "type", "finite", "range"


@dataclass
class CellProblem:
    """Cells of one column with one kind of problem (``mask`` marks their rows)."""

    column: ColumnInfo
    kind: str
    mask: pd.Series

    def row_message(self, values: pd.Series) -> pd.Series:
        """The message for each marked row, with the cell's own text where it has one."""
        name = self.column.name
        if self.kind == EMPTY:
            return pd.Series(f"{name} is empty", index=values.index)
        shown = values.astype(str).str.slice(0, SHOWN_CHARS)
        if self.kind == MISSING:
            return f'{name} is missing ("' + shown + '")'
        return f"{name} expects {self._expected()}, got " + '"' + shown + '"'

    def summary(self, series: pd.Series) -> str:
        """One line for a file check: the first row with this problem, and how many more."""
        position = int(np.argmax(self.mask.to_numpy()))
        row = position + 1 + HEADER_ROWS
        count = int(self.mask.sum())
        more = f" (and {count - 1:,} more row{'s' if count > 2 else ''})" if count > 1 else ""
        value = str(series.iloc[position])[:SHOWN_CHARS]
        name = self.column.name
        if self.kind == EMPTY:
            return f"{name} is empty in row {row}{more}."
        if self.kind == MISSING:
            return f'{name} is missing in row {row}: "{value}"{more}.'
        return f'{name} expects {self._expected()}: row {row} has "{value}"{more}.'

    def _expected(self) -> str:
        if self.kind == NOT_FINITE:
            return "a finite number"
        if self.kind == TOO_LARGE:
            return f"a whole number that fits a {self.column.type} column"
        return _words(self.column)


def cell_problems(frame: pd.DataFrame, columns: list[ColumnInfo]) -> list[CellProblem]:
    """Every problem of every model input column present in ``frame``."""
    found = []
    for column in columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        empty = series.isna()
        missing = _missing_words(series, column) & ~empty
        wrong = _wrong_type(series, column) & ~empty & ~missing
        infinite, too_large = _impossible_numbers(series, column)
        kinds = (
            (EMPTY, empty if column.required else None),
            (MISSING, missing if column.required else None),
            (WRONG_TYPE, wrong & ~too_large),
            (NOT_FINITE, infinite & ~wrong),
            (TOO_LARGE, too_large),
        )
        found += [
            CellProblem(column, kind, mask)
            for kind, mask in kinds
            if mask is not None and mask.any()
        ]
    return found


def row_problems(frame: pd.DataFrame, columns: list[ColumnInfo]) -> pd.Series:
    """For each row, its first problem ("" when it has none). Columns must be present
    (checked before)."""
    problems = pd.Series("", index=frame.index, dtype=object)
    for problem in cell_problems(frame, columns):
        fresh = problem.mask & (problems == "")
        if fresh.any():
            series = frame[problem.column.name][fresh]
            problems[fresh] = problem.row_message(series)
    return problems


def problem_summary(frame: pd.DataFrame, columns: list[ColumnInfo]) -> list[str]:
    """Every column's problems at once, for a file check."""
    return [p.summary(frame[p.column.name]) for p in cell_problems(frame, columns)]


def typed_inputs(frame: pd.DataFrame, columns: list[ColumnInfo]) -> pd.DataFrame:
    """The frame with its number and true/false input columns in their own type, cells that
    do not read as it empty (the row's ``error`` names them): a column keeps one type, and a
    CSV result writes it the same way in every chunk."""
    typed = frame.copy()
    for column in columns:
        if column.name not in frame.columns or column.type not in NUMPY_TYPES:
            continue
        series = frame[column.name]
        if not is_object_dtype(series.dtype) and not is_string_dtype(series.dtype):
            continue
        if column.type == "boolean":
            cells = series.map(lambda v: v if isinstance(v, (bool, np.bool_)) else None)
            typed[column.name] = cells.astype("boolean")
            continue
        numbers = pd.to_numeric(series.where(~series.map(_is_bool)), errors="coerce")
        if NUMPY_TYPES[column.type].startswith("int"):
            fits = ~out_of_range(numbers, NUMPY_TYPES[column.type]) & np.isfinite(numbers)
            whole = numbers.where(fits & (numbers == np.floor(numbers)))
            typed[column.name] = whole.astype("Float64").astype("Int64")
        else:
            typed[column.name] = numbers
    return typed


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _words(column: ColumnInfo) -> str:
    return TYPE_WORDS.get(column.type, column.type)


def _missing_words(series: pd.Series, column: ColumnInfo) -> pd.Series:
    """Text meaning "no value" in a column that takes numbers or true/false (in a text
    column it may be a real value: ``NA`` is Namibia)."""
    if column.type not in NUMPY_TYPES or not (
        is_object_dtype(series.dtype) or is_string_dtype(series.dtype)
    ):
        return pd.Series(False, index=series.index)
    return series.map(lambda v: isinstance(v, str) and v.strip().lower() in MISSING_WORDS)


def _impossible_numbers(series: pd.Series, column: ColumnInfo) -> tuple[pd.Series, pd.Series]:
    """Numbers no model can take: infinite (``inf`` reads as a number), and whole numbers
    too large for their column's type (stored, they would wrap around)."""
    none = pd.Series(False, index=series.index)
    if column.type not in NUMPY_TYPES or column.type == "boolean":
        return none, none
    numbers = (
        series
        if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)
        else pd.to_numeric(series.where(~series.map(_is_bool)), errors="coerce")
    )
    as_float = numbers.astype(float)
    infinite = np.isinf(as_float) & numbers.notna()
    target = NUMPY_TYPES[column.type]
    if not target.startswith("int"):
        return infinite.astype(bool), none
    outside = out_of_range(numbers, target) | _text_out_of_range(series, as_float, target)
    return infinite.astype(bool), (outside & ~infinite & numbers.notna())


def _text_out_of_range(series: pd.Series, as_float: pd.Series, target: str) -> pd.Series:
    """Whole numbers (as text, or as Python ints pandas kept exact) just past the range: as
    doubles they round onto its ends (-2**63 - 1 reads as -2**63), so those few cells are
    compared exactly."""
    edge = float(2 ** (np.iinfo(target).bits - 1)) * 0.999
    near = as_float.abs() >= edge  # vectorised first: a clean column costs no Python loop
    if not near.any():
        return pd.Series(False, index=series.index)
    low, high = int(np.iinfo(target).min), int(np.iinfo(target).max)
    exact = series[near].map(lambda v: _whole(v) if type(v) in (str, int) else None)
    outside = exact.map(lambda v: v is not None and not low <= v <= high)
    return outside.reindex(series.index, fill_value=False).astype(bool)


def _whole(value: str | int) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:  # a fraction or an exponent: the double is what it means
        return None


def _wrong_type(series: pd.Series, column: ColumnInfo) -> pd.Series:
    if _has_exact_type(series, column):
        return pd.Series(False, index=series.index)
    if column.type in NUMPY_TYPES and column.type != "boolean":
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna() | series.map(_is_bool)
        if NUMPY_TYPES[column.type].startswith("int"):
            bad |= (numbers != np.floor(numbers)) & numbers.notna()
        return bad.astype(bool)
    if column.type == "binary":
        return series.map(lambda value: base64_bytes(value) is None).astype(bool)
    expected = {"boolean": (bool, np.bool_), "string": (str,)}.get(column.type)
    if expected is None:
        return pd.Series(False, index=series.index)
    return ~series.map(lambda value: isinstance(value, expected)).astype(bool)


def _has_exact_type(series: pd.Series, column: ColumnInfo) -> bool:
    """Cheap answers for whole columns a CSV reader already typed (millions of rows)."""
    dtype = series.dtype
    if column.type == "boolean":
        return is_bool_dtype(dtype)
    if column.type == "string":
        return is_string_dtype(dtype) and not is_object_dtype(dtype)
    if column.type in ("double", "float"):
        return is_numeric_dtype(dtype) and not is_bool_dtype(dtype)
    if column.type in ("long", "integer"):
        return dtype.kind in "iu"
    return False


def cells_as_sent(typed: pd.DataFrame, sent: pd.DataFrame) -> pd.DataFrame:
    """``typed`` with each cell its typing emptied put back as it was sent, as text. The
    other cells of such a column become the text Arrow's CSV writer gives them (``true``,
    ``60037.43``), so a column reads the same in every chunk."""
    rows = typed.copy()
    for name in rows.columns:
        lost = rows[name].isna() & sent[name].notna()
        if lost.any():
            text = pa.array(rows[name], from_pandas=True).cast(pa.string()).to_pylist()
            written = pd.Series(text, index=rows.index, dtype=object)
            rows[name] = written.where(~lost, sent[name].astype(str))
    return rows
