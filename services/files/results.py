"""Result files of a scored CSV: the formats a person can choose and one writer per format.

A writer is a context manager around the open result file; it yields a function that takes
each scored chunk in order, and the file is complete when the block ends without an error.
``FileService.score`` only picks the format; everything format-specific lives here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

from services.errors import InvalidInput
from services.files.csv_io import write_csv
from services.files.parquet import parquet_writer
from services.registry.signature import SignatureInfo

CSV = "csv"
PARQUET = "parquet"
DEFAULT_RESULT_FORMAT = CSV

WriteChunk = Callable[[pd.DataFrame], None]
OpenWriter = Callable[[IO[bytes], SignatureInfo], AbstractContextManager[WriteChunk]]


@contextlib.contextmanager
def csv_writer(handle: IO[bytes], signature: SignatureInfo) -> Iterator[WriteChunk]:
    """Chunks appended as CSV, the header once; formula cells neutralised (see ``write_csv``)."""

    def write(scored: pd.DataFrame) -> None:
        write_csv(scored, handle, header=handle.tell() == 0)

    yield write


@dataclass(frozen=True)
class ResultFormat:
    """What a format is called, how its file is named and served, and who writes it.

    ``passthrough_as_text``: read the columns the model does not use as text, so they can be
    written exactly as they are in the upload (the CSV result keeps pandas' reading of them).
    ``keeps_cells_as_sent``: a cell the model could not read is written as it was sent (text
    can hold it; a typed column writes it empty, its row's ``error`` quoting it).
    """

    name: str
    label: str
    extension: str
    mimetype: str
    open_writer: OpenWriter
    passthrough_as_text: bool = False
    keeps_cells_as_sent: bool = False


RESULT_FORMATS: dict[str, ResultFormat] = {
    CSV: ResultFormat(CSV, "CSV", ".csv", "text/csv", csv_writer, keeps_cells_as_sent=True),
    PARQUET: ResultFormat(
        PARQUET,
        "Parquet",
        ".parquet",
        "application/vnd.apache.parquet",
        parquet_writer,
        passthrough_as_text=True,
    ),
}


def result_format(name: str | None) -> ResultFormat:
    """The format called ``name`` (any case; empty means the default), or a clear error.
    The message lists the formats and does not repeat what was sent."""
    key = (name or DEFAULT_RESULT_FORMAT).strip().lower()
    if key not in RESULT_FORMATS:
        choices = ", ".join(RESULT_FORMATS)
        raise InvalidInput(
            f"Unknown result format. Choose one of: {choices}.",
            hint=f"Without a format the result is {DEFAULT_RESULT_FORMAT}.",
        )
    return RESULT_FORMATS[key]


def mimetype_for(filename: str) -> str:
    """The download type by the stored file's extension. Anything else is an upload, which
    this console only takes as CSV."""
    suffix = Path(filename).suffix.lower()
    for known in RESULT_FORMATS.values():
        if known.extension == suffix:
            return known.mimetype
    return RESULT_FORMATS[CSV].mimetype
