"""Reading users' CSV files and writing results that are safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas.api.types import is_object_dtype, is_string_dtype

from services.errors import InvalidInput
from services.registry.signature import SignatureInfo
from services.scoring.cells import MISSING_WORDS

# Spreadsheets also run formulas typed with the full-width signs of East Asian keyboards.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_PATTERN = "^[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]"
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")


def _first_line(raw: bytes) -> str:
    return raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")


def detect_delimiter(header: str) -> str:
    """Comma unless the header clearly uses another separator (Excel in many locales: ';')."""
    counts = {d: header.count(d) for d in CANDIDATE_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 and counts[","] == 0 else ","


def _string_columns(signature: SignatureInfo | None) -> dict[str, type]:
    """Text columns stay text (a postcode 01234 must not become the number 1234)."""
    if signature is None:
        return {}
    return {c.name: str for c in signature.columns if c.type == "string"}


NUMERIC = {"long", "integer", "double", "float"}
WHOLE = {"long", "integer"}
TRUE_FALSE = {"true": True, "false": False}


def parse_cells(frame: pd.DataFrame, signature: SignatureInfo | None) -> pd.DataFrame:
    """A CSV has only text: a numeric column with one bad cell arrives as text. Cells that
    read as numbers (or true/false) become them; the rest stay as they are, so validation can
    name them."""
    if signature is None:
        return frame
    for column in signature.columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        if not (is_object_dtype(series.dtype) or is_string_dtype(series.dtype)):
            continue
        said_missing = column.type in NUMERIC or column.type == "boolean"
        if said_missing and not column.required:  # an optional value said to be missing is
            series = series.mask(series.map(_missing_word))
            frame[column.name] = series
        if column.type in NUMERIC:
            parsed = pd.to_numeric(series, errors="coerce")
            whole = column.type in WHOLE  # "34" stays 34, not 34.0, in what is written back
            cells = [  # a whole number pandas kept exact (past int64) stays exact
                original
                if pd.isna(number) or type(original) is int
                else (_whole(number) if whole else number)
                for number, original in zip(parsed, series, strict=True)
            ]
            frame[column.name] = pd.Series(cells, index=series.index, dtype=object)
        elif column.type == "boolean":
            lowered = series.astype(object).map(lambda v: TRUE_FALSE.get(str(v).strip().lower(), v))
            frame[column.name] = lowered.where(series.notna(), None)
    return frame


def _missing_word(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in MISSING_WORDS


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _check_text(head: bytes) -> None:
    """Not empty, and UTF-8 (a character cut in half at the end of the block is fine)."""
    if not head.strip():
        raise InvalidInput("The CSV file is empty.", hint="Upload a file with a header row.")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            raise InvalidInput(
                f"The CSV file is not UTF-8 text (byte {exc.start} cannot be read).",
                hint="Save it as 'CSV UTF-8' and upload it again.",
            ) from None


def _with_rows(frame: pd.DataFrame, signature: SignatureInfo | None) -> pd.DataFrame:
    if frame.empty:
        raise InvalidInput(
            "The CSV file has a header but no rows.", hint="Add at least one row of data."
        )
    return parse_cells(frame, signature)


def _read_options(header: str, signature: SignatureInfo | None) -> dict:
    """Only an empty cell is empty: ``NA`` can be an ID or a country, and a missing-value
    word in a number column is reported as such (``services/scoring/cells.py``)."""
    return {
        "sep": detect_delimiter(header),
        "dtype": _string_columns(signature),
        "encoding": "utf-8-sig",
        "keep_default_na": False,
        "na_values": [""],
    }


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(64 * 1024)


def delimiter_of(path: Path) -> str:
    """The separator a stored file is read with."""
    return detect_delimiter(_first_line(_head(path)))


def check_readable(path: Path) -> None:
    """The cheap checks on a stored file, from its first block."""
    _check_text(_head(path))


def read_csv_head(path: Path, signature: SignatureInfo | None, rows: int) -> pd.DataFrame:
    """The first ``rows`` rows of a stored file, read as ``iter_csv`` reads them."""
    check_readable(path)
    options = _read_options(_first_line(_head(path)), signature)
    return _with_rows(_parsed(lambda: pd.read_csv(path, nrows=rows, **options)), signature)


def iter_csv(
    path: Path,
    signature: SignatureInfo | None,
    chunk_rows: int,
    passthrough_as_text: bool = False,
) -> Iterator[pd.DataFrame]:
    """The file in chunks of ``chunk_rows`` rows: memory stays bounded whatever its size.

    ``passthrough_as_text``: columns the model does not use are read as text, so every chunk
    has the same type for them and ``007`` stays ``007`` (pandas infers each chunk on its own
    otherwise: numbers in one, words in the next)."""
    check_readable(path)
    options = _read_options(_first_line(_head(path)), signature)
    if passthrough_as_text:
        header = _parsed(lambda: pd.read_csv(path, nrows=0, **options)).columns
        options["dtype"] |= {str(name): str for name in passthrough_columns(header, signature)}
    reader = _parsed(lambda: pd.read_csv(path, chunksize=chunk_rows, **options))
    first = _parsed(lambda: next(reader, None))
    yield _with_rows(first if first is not None else pd.DataFrame(), signature)
    while (chunk := _parsed(lambda: next(reader, None))) is not None:
        yield parse_cells(chunk, signature)


def passthrough_columns(columns: Iterable[object], signature: SignatureInfo | None) -> list[str]:
    """Columns the model does not use (IDs, notes). Without a column signature there are
    none: the model may use any column."""
    known = {c.name for c in signature.columns} if signature else set()
    return [str(name) for name in columns if known and name not in known]


def count_rows(path: Path) -> int:
    """Data rows (lines after the header), counted without parsing the file."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(8 * 1024 * 1024):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def _parsed(read):
    """Run a pandas read, turning its errors into messages for people."""
    try:
        return read()
    except pd.errors.EmptyDataError:
        raise InvalidInput("The CSV file has no header row.") from None
    except pd.errors.ParserError as exc:
        raise InvalidInput(
            f"The CSV file cannot be read: {_parser_message(exc)}",
            hint="Every row needs the same number of fields as the header.",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            "The CSV file is not UTF-8 text further down.",
            hint="Save it as 'CSV UTF-8' and upload it again.",
        ) from None


def _parser_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown format"
    return text.replace("Error tokenizing data. C error: ", "")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with a quote; numbers untouched.
    Vectorised: no Python call per cell."""
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if isinstance(column.dtype, pd.CategoricalDtype):  # a model's categorical output
            column = safe[name] = column.astype(object)
        if is_object_dtype(column.dtype) or is_string_dtype(column.dtype):
            text = column.astype("string")
            risky = text.str.match(FORMULA_PATTERN).fillna(False).astype(bool)
            if risky.any():  # "-2.5" is a number to a spreadsheet too: left as it is
                risky &= ~_finite_number(text.where(risky))
                safe[name] = column.astype(object).mask(risky, "'" + text.astype(object))
    safe.columns = [_neutralised(str(name)) for name in safe.columns]
    return safe


def _finite_number(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text.astype(object), errors="coerce")
    return pd.Series(np.isfinite(numbers.to_numpy(dtype=float)), index=text.index)


def _neutralised(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def write_csv(frame: pd.DataFrame, handle: IO[bytes], header: bool = True) -> None:
    """Neutralised, then written by Arrow's CSV writer (much faster than pandas'); text is
    always quoted. Mixed columns (a pass-through ID column with numbers and words) go as
    text."""
    safe = neutralise_formulas(frame)
    for name in safe.columns:
        if is_object_dtype(safe[name].dtype):
            safe[name] = safe[name].astype("string")
    table = pa.Table.from_pandas(safe, preserve_index=False)
    options = pacsv.WriteOptions(include_header=header, quoting_style="needed")
    pacsv.write_csv(table, handle, write_options=options)
