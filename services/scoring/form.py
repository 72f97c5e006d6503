"""The values of a form built from a signature, read by the rules the API uses.

A form sends text. Each field is read as its column's type, or gets a reason a person can
act on: nothing is guessed (``3,5`` is not 35, ``abc`` is not blank) and nothing is sent to
the model until every field reads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from services.registry.signature import ColumnInfo, SignatureInfo

WHOLE = {"long", "integer"}
NUMBERS = WHOLE | {"double", "float"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,(\d{1,2}|\d{4,})$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([,' ]\d{3})+(\.\d+)?$")
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1


@dataclass
class FormValues:
    """The record to predict on, and what is wrong with each field that does not read."""

    record: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_form(signature: SignatureInfo, raw: dict[str, Any]) -> FormValues:
    values = FormValues()
    for column in signature.columns:
        try:
            value = read_field(column, raw.get(column.name))
        except ValueError as problem:
            values.problems[column.name] = str(problem)
            continue
        if value is not None:
            values.record[column.name] = value
    return values


def read_field(column: ColumnInfo, raw: Any) -> Any:
    """The field's value, or ``ValueError`` with what to do. Empty is None (refused for a
    required column)."""
    if column.type == "boolean":
        return bool(raw)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if column.required:
            raise ValueError("Required: fill in a value.")
        return None
    if column.type in NUMBERS:
        return _number(column, text)
    return text


def _number(column: ColumnInfo, text: str) -> int | float:
    if _DECIMAL_COMMA.match(text):
        raise ValueError(f"Use a dot for decimals: {text.replace(',', '.')}")
    if _THOUSANDS.match(text):
        raise ValueError("Write the number without thousands separators.")
    try:
        number = float(text)
    except ValueError:
        raise ValueError("Not a number.") from None
    if not math.isfinite(number):
        raise ValueError("Use a finite number.")
    if column.type not in WHOLE:
        return number
    if not number.is_integer():
        raise ValueError("Use a whole number (no decimals).")
    limit = INT32_MAX if column.type == "integer" else INT64_MAX
    whole = int(text) if re.fullmatch(r"[+-]?\d+", text) else int(number)
    if abs(whole) > limit:
        raise ValueError(f"Too large for a {column.type} column.")
    return whole
