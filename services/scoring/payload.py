"""Turn what a user sends (JSON text or a parsed JSON value) into model input.

Accepted forms: one record (an object), a list of records, and MLflow's scoring formats
``dataframe_split``, ``dataframe_records``, ``instances`` and ``inputs`` (with optional
``params``). Parsing knows nothing of HTTP or Dash; checking against the signature is
``services.scoring.validation``'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from services.errors import InvalidInput, InvalidJson

DATAFRAME_SPLIT = "dataframe_split"
DATAFRAME_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
SCORING_FORMATS = (DATAFRAME_SPLIT, DATAFRAME_RECORDS, INSTANCES, INPUTS)

FORMATS_HELP = (
    'Send one record ({"feature": value, ...}), a list of records, or one of MLflow\'s '
    "formats: " + ", ".join(SCORING_FORMATS) + "."
)


@dataclass
class ModelInput:
    """Rows for the model: named columns (DataFrame) or positional rows (ndarray)."""

    data: pd.DataFrame | np.ndarray
    params: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return len(self.data)


def parse_json_text(text: str | bytes) -> Any:
    """Parse JSON, reporting where it breaks without repeating the text."""
    if not text.strip():
        raise InvalidInput("The input is empty.", hint=FORMATS_HELP)
    try:
        parsed = orjson.loads(text)
    except json.JSONDecodeError as exc:  # orjson's error is a json.JSONDecodeError
        if "UTF-8" in exc.msg:
            raise InvalidInput("The input is not UTF-8 text.", hint="Send it as UTF-8.") from None
        raise InvalidJson(
            f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {_first_clause(exc.msg)}.",
            line=exc.lineno,
            column=exc.colno,
            hint="Check quotes, commas and brackets near that position.",
        ) from None
    return exact_whole_numbers(text) if _may_hold_long_integers(text) else parsed


# orjson reads a whole number past 64 bits as the nearest double. Past 2**64 that double is
# still out of every integer range, but from -2**63 - 1024 to -2**63 - 1 it is -2**63 itself,
# a valid long: such a number was sent only if the text holds these digits.
NEAR_LONG_MIN = "-922337203685477"


def _may_hold_long_integers(text: str | bytes) -> bool:
    return (NEAR_LONG_MIN.encode() if isinstance(text, bytes) else NEAR_LONG_MIN) in text


def exact_whole_numbers(text: str | bytes) -> Any:
    """The same JSON (orjson has accepted it) read by the standard library, which keeps
    every whole number exact, so a range check sees the number that was sent."""
    try:
        return json.loads(text)
    except ValueError:  # past Python's limit on the digits of a whole number read from text
        raise InvalidInput(
            "The input holds a whole number with thousands of digits.",
            hint="Check the numbers; a value this long is usually a mistake.",
        ) from None


def _first_clause(message: str) -> str:
    """orjson says "unexpected character: line 1 column 8 (char 7)"; the position is ours."""
    return message.split(": line ")[0]


def as_model_input(payload: Any) -> ModelInput:
    """A parsed JSON value in any accepted form, or a ``ModelInput`` already."""
    return payload if isinstance(payload, ModelInput) else parse_payload(payload)


def parse_payload(value: Any) -> ModelInput:
    """Accept any supported JSON shape and return rows plus MLflow ``params``."""
    if isinstance(value, dict):
        formats = [key for key in SCORING_FORMATS if key in value]
        if len(formats) > 1:
            raise InvalidInput(f"Use exactly one of {', '.join(formats)} in one request.")
        if formats:
            return _scoring_format(formats[0], value)
        if not value:
            raise InvalidInput("The record is empty: it has no features.", hint=FORMATS_HELP)
        return ModelInput(_records_frame([value]))
    if isinstance(value, list):
        return _from_list(value)
    raise InvalidInput(
        f"Expected a JSON object or list, got {type(value).__name__}.", hint=FORMATS_HELP
    )


def _scoring_format(form: str, value: dict[str, Any]) -> ModelInput:
    params = value.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput('"params" must be an object of parameter names to values.')
    body = value[form]
    if form == DATAFRAME_SPLIT:
        parsed = _split_frame(body)
    elif form == DATAFRAME_RECORDS:
        if not isinstance(body, list):
            raise InvalidInput('"dataframe_records" must be a list of records.')
        parsed = _from_list(body)
    elif isinstance(body, dict):
        parsed = ModelInput(_columnar_frame(body, form))
    elif isinstance(body, list):
        parsed = _from_list(body)
    else:
        raise InvalidInput(f'"{form}" must be a list of rows or an object of columns.')
    parsed.params = params
    return parsed


def _from_list(rows: list[Any]) -> ModelInput:
    if not rows:
        raise InvalidInput("The input has no rows.", hint=FORMATS_HELP)
    if all(isinstance(row, dict) for row in rows):
        return ModelInput(_records_frame(rows))
    if any(isinstance(row, dict) for row in rows):
        raise InvalidInput("Mix of records and plain values: every row must be an object.")
    return ModelInput(_positional_rows(rows))


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records)


def _columnar_frame(columns: dict[str, Any], form: str) -> pd.DataFrame:
    lengths = {len(v) if isinstance(v, list) else 1 for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidInput(f'Every column in "{form}" needs the same number of values.')
    if not columns or lengths == {0}:
        raise InvalidInput("The input has no rows.", hint=FORMATS_HELP)
    return pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in columns.items()})


def _split_frame(body: Any) -> ModelInput:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise InvalidInput('"dataframe_split" needs "columns" and "data" (a list of rows).')
    data, columns = body["data"], body.get("columns")
    if not data:
        raise InvalidInput("The input has no rows.", hint=FORMATS_HELP)
    if columns is None:
        return ModelInput(_positional_rows(data))
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput('"columns" of dataframe_split must be a list of column names.')
    if len(set(columns)) != len(columns):
        raise InvalidInput('"columns" of dataframe_split names a column twice.')
    for number, row in enumerate(data, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidInput(
                f"Row {number} of dataframe_split has "
                f"{len(row) if isinstance(row, list) else 1} values for {len(columns)} columns."
            )
    return ModelInput(pd.DataFrame(data, columns=columns))


def _positional_rows(rows: list[Any]) -> np.ndarray:
    widths = {len(row) if isinstance(row, list) else None for row in rows}
    if len(widths) > 1:
        first = len(rows[0]) if isinstance(rows[0], list) else 1
        for number, row in enumerate(rows, start=1):
            width = len(row) if isinstance(row, list) else 1
            if width != first:
                raise InvalidInput(
                    f"Rows have different lengths: row 1 has {first} values, "
                    f"row {number} has {width}."
                )
    try:
        return np.asarray(rows)
    except ValueError as exc:
        raise InvalidInput(f"Cannot read the rows as an array: {exc}.") from None
