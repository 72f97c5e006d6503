"""CSV files in the console: keep the upload, check it against the model, predict, offer the
result for download. Files live in the caller's own area (``UserFiles``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from services.console import ModelConsole
from services.csv_io import read_csv, to_csv_bytes
from services.files import StoredFile, UserFiles, result_name
from services.identity import Caller
from services.prediction import PredictionResult
from services.validation import column_problems

PREVIEW_ROWS = 5


@dataclass
class CsvCheck:
    """What a person should know about a file before predicting on it."""

    rows: int
    columns: list[str]
    missing: list[str] = field(default_factory=list)
    passthrough: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems


@dataclass
class CsvPrediction:
    result: PredictionResult
    download: StoredFile
    preview: list[dict[str, Any]]
    columns: list[str]


class CsvService:
    def __init__(self, console: ModelConsole, files: UserFiles) -> None:
        self.console = console
        self.files = files

    def store(self, caller: Caller, filename: str, raw: bytes) -> StoredFile:
        return self.files.save(caller, filename, raw)

    def check(
        self, caller: Caller, name: str, ref: str, file_id: str
    ) -> tuple[StoredFile, CsvCheck]:
        stored, raw = self.files.read(caller, file_id)
        return stored, self._check_bytes(caller, name, ref, raw)

    def _check_bytes(self, caller: Caller, name: str, ref: str, raw: bytes) -> CsvCheck:
        _, model = self.console.load(caller, name, ref)
        frame = read_csv(raw, model.signature)
        known = {c.name for c in model.signature.columns}
        present = set(frame.columns)
        return CsvCheck(
            rows=len(frame),
            columns=[str(c) for c in frame.columns],
            missing=[
                c.name for c in model.signature.columns if c.required and c.name not in present
            ],
            passthrough=[str(c) for c in frame.columns if known and c not in known],
            problems=column_problems(frame, model.signature.columns),
            preview=_records(frame.head(PREVIEW_ROWS)),
        )

    def predict(self, caller: Caller, name: str, ref: str, file_id: str) -> CsvPrediction:
        stored, raw = self.files.read(caller, file_id)
        predicted = self.console.predict_csv(caller, name, ref, raw, source="csv")
        download = self.files.save(
            caller, result_name(stored.filename), to_csv_bytes(predicted.frame)
        )
        return CsvPrediction(
            result=predicted.result,
            download=download,
            preview=_records(predicted.frame.head(100)),
            columns=[str(c) for c in predicted.frame.columns],
        )

    def download(self, caller: Caller, file_id: str) -> tuple[str, bytes]:
        stored, raw = self.files.read(caller, file_id)
        return stored.filename, raw


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows for display (NaN as empty)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
