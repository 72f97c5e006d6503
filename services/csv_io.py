"""Reading users' CSV files and writing results that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import IO

import pandas as pd

from services.errors import InvalidInput
from services.signature import SignatureInfo

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


def read_csv(source: bytes | IO[bytes], signature: SignatureInfo | None = None) -> pd.DataFrame:
    raw = source if isinstance(source, bytes) else source.read()
    if not raw.strip():
        raise InvalidInput("The CSV file is empty.", hint="Upload a file with a header row.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The CSV file is not UTF-8 text (byte {exc.start} cannot be read).",
            hint="Save it as 'CSV UTF-8' and upload it again.",
        ) from None
    delimiter = detect_delimiter(_first_line(raw))
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=delimiter,
            dtype=_string_columns(signature),
            encoding="utf-8-sig",
            keep_default_na=True,
        )
    except pd.errors.EmptyDataError:
        raise InvalidInput("The CSV file has no header row.") from None
    except pd.errors.ParserError as exc:
        raise InvalidInput(
            f"The CSV file cannot be read: {_parser_message(exc)}",
            hint="Every row needs the same number of fields as the header.",
        ) from None
    if frame.empty:
        raise InvalidInput(
            "The CSV file has a header but no rows.", hint="Add at least one row of data."
        )
    return frame


def _parser_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown format"
    return text.replace("Error tokenizing data. C error: ", "")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with a quote; numbers untouched."""
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            safe[name] = column.map(_neutralised)
    safe.columns = [_neutralised(str(name)) for name in safe.columns]
    return safe


def _neutralised(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return neutralise_formulas(frame).to_csv(index=False, quoting=csv.QUOTE_MINIMAL).encode()
