"""Scored chunks written as one Parquet file: one row group per chunk, one type per column.

A CSV chunk arrives with whatever types pandas inferred for it; Parquet needs each column's
type before the first row group. The types come from what the model declares wherever it
can (see ``ColumnTypes``). Values are written exactly, with no formula neutralisation:
formula injection is a danger of spreadsheets opening CSV text, while a Parquet file is read
by code, which must get back the values that were scored (``'=1+1`` would be a changed value).
"""

from __future__ import annotations

import contextlib
import math
import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.api.types import is_object_dtype, is_string_dtype

from services.errors import PredictionFailed
from services.registry.signature import ColumnInfo, SignatureInfo, TensorInfo
from services.scoring.prediction import PREDICTION_COLUMN, output_columns
from services.scoring.probabilities import PROBABILITY_PREFIX
from services.scoring.tables import ERROR_COLUMN

# zstd: about a third smaller than snappy for a little more time (bench/result_formats.py)
COMPRESSION = "zstd"
SIGNATURE_TYPES: dict[str, pa.DataType] = {
    "long": pa.int64(),
    "integer": pa.int32(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "datetime": pa.timestamp("us"),
}
ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def is_output_column(name: str) -> bool:
    """The names ``output_frame`` gives the model's output: ``prediction``, ``prediction_<x>``."""
    return name == PREDICTION_COLUMN or name.startswith(f"{PREDICTION_COLUMN}_")


def output_types(signature: SignatureInfo) -> dict[str, pa.DataType]:
    """Types of the output columns when the model's output signature fixes them."""
    outputs, names = signature.outputs, output_columns(signature)
    if len(outputs) == 1 and isinstance(outputs[0], TensorInfo):
        kind = _numpy_type(outputs[0].dtype)
        if kind is None or len(outputs[0].shape) > 2:
            return {}
        return dict.fromkeys(names, kind)
    kinds = [SIGNATURE_TYPES.get(o.type) for o in outputs if isinstance(o, ColumnInfo)]
    if not names or None in kinds:
        return {}
    return dict(zip(names, kinds, strict=True))


def _numpy_type(dtype: str) -> pa.DataType | None:
    with contextlib.suppress(TypeError, *ARROW_ERRORS):
        return pa.from_numpy_dtype(np.dtype(dtype))
    return None  # "object" and friends: learnt from the values instead


ERROR, OUTPUT, INPUT, PASSTHROUGH, LEARNT = "error", "output", "input", "passthrough", "learnt"


@dataclass
class ColumnTypes:
    """The Parquet type of every result column.

    - model inputs: the signature's type; a cell that does not read as it becomes null (its
      row's ``error`` already names the value);
    - ``error``: text, null where the row was scored;
    - outputs: the output signature's type, else the type of the first chunk in which the
      column has a value (a chunk where every row failed says nothing about it);
    - pass-through columns (not in the signature): text exactly as read from the CSV. pandas
      infers types chunk by chunk, so an ID column can read as numbers in one chunk and words
      in the next; as text every value is kept (``007`` stays ``007``), empty cells are null;
    - a model without column signature: every column's type from its first values.
    """

    inputs: dict[str, pa.DataType]
    outputs: dict[str, pa.DataType]
    learnt: dict[str, pa.DataType] = field(default_factory=dict)

    @classmethod
    def for_signature(cls, signature: SignatureInfo) -> ColumnTypes:
        inputs = {c.name: SIGNATURE_TYPES.get(c.type, pa.string()) for c in signature.columns}
        return cls(inputs, output_types(signature))

    def role(self, name: str) -> str:
        if name == ERROR_COLUMN:
            return ERROR
        if name == PREDICTION_COLUMN or name in self.outputs:  # replaces an input so named
            return OUTPUT
        if name in self.inputs:
            return INPUT
        if is_output_column(name) or name.startswith(PROBABILITY_PREFIX):
            return OUTPUT
        return PASSTHROUGH if self.inputs else LEARNT

    def type_of(self, name: str) -> pa.DataType | None:
        """The column's type, or None while no chunk has shown it."""
        role = self.role(name)
        if role in (ERROR, PASSTHROUGH):
            return pa.string()
        if role == INPUT:
            return self.inputs[name]
        if name.startswith(PROBABILITY_PREFIX) and name not in self.outputs:
            return pa.float64()  # a class probability, even in a chunk where every row failed
        return self.outputs.get(name) or self.learnt.get(name)

    def learn(self, frame: pd.DataFrame) -> bool:
        """Note the types this chunk shows; True once every column has one."""
        for name in frame.columns:
            if self.type_of(name) is None and (seen := _seen_type(frame[name])) is not None:
                self.learnt[name] = seen
        return all(self.type_of(name) is not None for name in frame.columns)

    def settle(self, names: list[str]) -> None:
        """No chunk had a value for these (say the whole file failed): text, as in the CSV."""
        for name in names:
            if self.type_of(name) is None:
                self.learnt[name] = pa.string()

    def schema(self, names: list[str]) -> pa.Schema:
        return pa.schema([(name, self.type_of(name)) for name in names])

    def table(self, frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
        arrays = [self._array(name, frame[name], schema.field(name).type) for name in schema.names]
        return pa.Table.from_arrays(arrays, schema=schema)

    def _array(self, name: str, series: pd.Series, kind: pa.DataType) -> pa.Array:
        role = self.role(name)
        if role == ERROR:
            return text_cells(series.where(series != ""))
        if role == INPUT:
            return input_cells(series, kind)
        if kind == pa.string():
            return text_cells(series)
        try:
            return pa.array(series, type=kind, from_pandas=True)
        except ARROW_ERRORS:
            raise PredictionFailed(
                f"Column {name} changes type part-way through the file; a Parquet file needs "
                f"one type per column ({kind}, from the rows before).",
                hint="Choose CSV as the result format for this file.",
            ) from None


def _seen_type(series: pd.Series) -> pa.DataType | None:
    if series.isna().all():
        return None
    try:
        seen = pa.array(series, from_pandas=True).type
    except ARROW_ERRORS:
        return pa.string()  # numbers and words in one column: text keeps both
    return pa.string() if seen in (pa.large_string(), pa.string_view()) else seen


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def text_cells(series: pd.Series) -> pa.Array:
    """Text as it is; anything else as its ``str``; missing as null."""
    if is_string_dtype(series.dtype) and not is_object_dtype(series.dtype):
        return pa.array(series, from_pandas=True).cast(pa.string())
    if is_object_dtype(series.dtype):
        with contextlib.suppress(*ARROW_ERRORS):  # only text and gaps: no per-cell work
            return pa.array(series, type=pa.string(), from_pandas=True)
    cells = [None if _missing(v) else v if isinstance(v, str) else str(v) for v in series]
    return pa.array(cells, type=pa.string())


def input_cells(series: pd.Series, kind: pa.DataType) -> pa.Array:
    """A model input column in its signature type; cells that do not read as it are null."""
    if pa.types.is_string(kind):
        return text_cells(series)
    if pa.types.is_timestamp(kind):
        parsed = pd.to_datetime(series, errors="coerce", utc=True).dt.tz_localize(None)
        return pa.array(parsed, from_pandas=True).cast(kind, safe=False)  # sub-µs dropped
    if not (is_object_dtype(series.dtype) or is_string_dtype(series.dtype)):
        with contextlib.suppress(*ARROW_ERRORS):  # typed by the reader: the common, fast case
            return pa.array(series, type=kind, from_pandas=True)
    if pa.types.is_boolean(kind):
        cells = [v if isinstance(v, (bool, np.bool_)) else None for v in series]
        return pa.array(cells, type=kind)
    return _numbers(series, kind)


def _numbers(series: pd.Series, kind: pa.DataType) -> pa.Array:
    """Cells read as numbers (nullable, so big whole numbers stay exact); for whole-number
    types, fractions and values out of the type's range are null too."""
    parsed = pd.to_numeric(series, errors="coerce", dtype_backend="numpy_nullable")
    numbers = pa.array(parsed, from_pandas=True)
    if pa.types.is_integer(kind) and numbers.type != kind:
        numbers = pc.if_else(_fits(numbers, kind), numbers, pa.scalar(None, numbers.type))
    return numbers.cast(kind)


def _fits(numbers: pa.Array, kind: pa.DataType) -> pa.Array:
    """Where a number can be stored as the whole-number type ``kind``."""
    low = float(np.iinfo(kind.to_pandas_dtype()).min)  # -2**63: exact as a float, unlike max
    inside = pc.and_(pc.greater_equal(numbers, low), pc.less(numbers, -low))
    if pa.types.is_floating(numbers.type):
        return pc.and_(inside, pc.equal(pc.floor(numbers), numbers))
    return inside


class _ParquetResult:
    """Chunks in, row groups out. Until every column has a type (say the first chunks all
    failed and the model declares no output type), chunks wait in a private temporary file,
    not in memory, so a file whose every row fails still holds one chunk at a time."""

    def __init__(self, handle: IO[bytes], types: ColumnTypes, compression: str) -> None:
        self.handle = handle
        self.types = types
        self.compression = compression
        self.names: list[str] = []
        self.writer: pq.ParquetWriter | None = None
        self.waiting: IO[bytes] | None = None

    def write(self, scored: pd.DataFrame) -> None:
        self._check_columns(scored)
        if self.writer is None and not self.types.learn(scored):
            self._wait(scored)
            return
        self._write(scored)

    def finish(self) -> None:
        if self.writer is None:
            self.types.settle(self.names)
            self._open()
        if self.writer is not None:
            self.writer.close()

    def release(self) -> None:
        """After a failure: let go of the files (the caller throws the result away)."""
        if self.writer is not None and self.writer.is_open:
            self.writer.close()
        if self.waiting is not None:
            self.waiting.close()

    def _check_columns(self, scored: pd.DataFrame) -> None:
        names = [str(c) for c in scored.columns]
        if not self.names:
            self.names = names
        elif names != self.names:
            raise PredictionFailed(
                "The model's output columns changed part-way through the file.",
                hint="Choose CSV as the result format for this file.",
            )

    def _wait(self, scored: pd.DataFrame) -> None:
        if self.waiting is None:
            # closed by _open once replayed, or by release(); gone from disk once closed
            self.waiting = tempfile.TemporaryFile(dir=_folder_of(self.handle))  # noqa: SIM115
        pickle.dump(scored, self.waiting, protocol=pickle.HIGHEST_PROTOCOL)

    def _open(self) -> None:
        """The writer, once every type is known, then the chunks that waited, in order."""
        schema = self.types.schema(self.names)
        self.writer = pq.ParquetWriter(self.handle, schema, compression=self.compression)
        if self.waiting is not None:
            self.waiting.seek(0)
            for held in _held_chunks(self.waiting):
                self._write(held)
            self.waiting.close()
            self.waiting = None

    def _write(self, scored: pd.DataFrame) -> None:
        if self.writer is None:
            self._open()
        table = self.types.table(scored, self.writer.schema)
        self.writer.write_table(table, row_group_size=max(len(table), 1))  # a group per chunk


def _held_chunks(source: IO[bytes]) -> Iterator[pd.DataFrame]:
    while True:
        try:
            yield pickle.load(source)  # our own private file, written a moment ago
        except EOFError:
            return


def _folder_of(handle: IO[bytes]) -> str | None:
    """Next to the result (same disk and clean-up rules), when the handle is a named file."""
    name = getattr(handle, "name", None)
    return str(Path(name).parent) if isinstance(name, str) else None


@contextlib.contextmanager
def parquet_writer(
    handle: IO[bytes], signature: SignatureInfo, compression: str = COMPRESSION
) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Write scored chunks to ``handle`` as Parquet; the file is valid once the block ends."""
    result = _ParquetResult(handle, ColumnTypes.for_signature(signature), compression)
    try:
        yield result.write
        result.finish()
    finally:
        result.release()
