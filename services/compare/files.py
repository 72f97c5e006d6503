"""Comparing versions on an uploaded file: read once in chunks, each chunk scored by every
version (each its own audited use), one prediction column per version in the result."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from services.access.audit import Source
from services.access.caller import Caller
from services.compare.agreement import Tally
from services.compare.service import ACTION, ComparedVersion, CompareService, column_differences
from services.files import results
from services.files.csv_io import count_rows, iter_csv
from services.files.observers import Progress
from services.files.service import FileService
from services.files.store import StoredFile
from services.registry.labels import label_of
from services.registry.signature import ColumnInfo, SignatureInfo
from services.scoring.payload import ModelInput
from services.scoring.prediction import PREDICTION_COLUMN, display_records, jsonable
from services.scoring.tables import ERROR_COLUMN, BadRows, TableRun

AGREE_COLUMN = "versions_agree"
PREVIEW_ROWS = 100


def prediction_column(version: ComparedVersion) -> str:
    return f"{PREDICTION_COLUMN}_{version.column_suffix}"


def label_column(version: ComparedVersion) -> str:
    return f"label_{version.column_suffix}"


@dataclass
class ComparedFile:
    """A file scored by several versions: how far they agree, and the result file."""

    model: str
    versions: list[ComparedVersion]
    tally: Tally
    output: StoredFile
    preview: list[dict[str, Any]]  # disagreeing rows first
    columns: list[str]
    shared_columns: list[str] = field(default_factory=list)
    differing_columns: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """What the API answers."""
        return {
            "model": self.model,
            "versions": [{"ref": v.ref, "version": v.version} for v in self.versions],
            "rows": self.tally.rows,
            "agreement": self.tally.agreement,
            "disagreeing_rows": self.tally.disagreeing,
            "disagreements": self.tally.disagreements,
            "crosstab": self.tally.crosstab(self.versions[0].labels),
            "mean_absolute_difference": self.tally.mean_absolute_difference,
            "shared_columns": self.shared_columns,
            "differing_columns": self.differing_columns,
            "result_file": {
                "file_id": self.output.file_id,
                "filename": self.output.filename,
                "size": self.output.size,
            },
        }


def compared_name(filename: str) -> str:
    """``iris.csv`` → ``iris_compared.csv``: the file of a comparison, named after its input."""
    return filename.rsplit(".", 1)[0] + "_compared.csv"


def union_signature(signatures: list[SignatureInfo]) -> SignatureInfo:
    """Every column any version reads, typed as the first version that reads it declares,
    so the file is read once for all of them."""
    columns: dict[str, ColumnInfo] = {}
    for signature in signatures:
        for column in signature.columns:
            columns.setdefault(column.name, column)
    return SignatureInfo(columns=list(columns.values()), present=bool(columns))


class CompareFiles:
    def __init__(self, files: FileService, compare: CompareService) -> None:
        self.files = files
        self.compare = compare

    def compare_file(
        self,
        caller: Caller,
        name: str,
        refs: list[str] | None,
        file_id: str,
        *,
        source: Source = Source.CSV,
        on_progress: Callable[[Progress], None] | None = None,
        owner: str = "request",
    ) -> ComparedFile:
        """``owner``: the job writing the result (see ``UserFiles.writing``)."""
        refs = self.compare.refs_for(caller, name, refs, source)
        versions = self.compare.check(caller, name, refs, source)
        stored = self.files.store.describe(caller, file_id)
        with contextlib.ExitStack() as stack:
            scoring = self.compare.scoring
            uses = [
                stack.enter_context(scoring.use(caller, name, v.ref, source, ACTION))
                for v in versions
            ]
            runs = [scoring.table(use, BadRows.MARK) for use in uses]
            signature = union_signature([use.model.signature for use in uses])
            output, tally, preview = self._score(
                caller, stored, versions, runs, signature, on_progress, owner
            )
            for use, run in zip(uses, runs, strict=True):
                use.audited.rows = run.rows
        shared, differing = column_differences(versions)
        return ComparedFile(
            uses[0].resolved.name,
            versions,
            tally,
            output,
            display_records(preview, PREVIEW_ROWS),
            [str(c) for c in preview.columns],
            shared,
            differing,
            seconds=runs[0].seconds,
        )

    def _score(
        self,
        caller: Caller,
        stored: StoredFile,
        versions: list[ComparedVersion],
        runs: list[TableRun],
        signature: SignatureInfo,
        on_progress: Callable[[Progress], None] | None,
        owner: str,
    ) -> tuple[StoredFile, Tally, pd.DataFrame]:
        path = self.files.store.path(caller, stored.file_id)
        total, tally = count_rows(path), Tally()
        disagreeing: list[pd.DataFrame] = []
        agreeing: list[pd.DataFrame] = []
        chunk_rows = self.files.settings.predict_chunk_rows
        target = compared_name(stored.filename)
        writer = results.result_format(results.CSV).open_writer
        with (
            self.files.store.writing(caller, target, owner) as (output_id, handle),
            writer(handle, signature) as write,
        ):
            for chunk in iter_csv(path, signature, chunk_rows, passthrough_as_text=True):
                compared, local = _compared_chunk(chunk, versions, runs, tally)
                write(compared)
                _keep(disagreeing, compared.iloc[local])
                _keep(agreeing, compared.drop(index=compared.index[local]))
                if on_progress is not None:
                    on_progress(Progress(tally.rows, total, runs[0].seconds))
        preview = (
            pd.concat(disagreeing + agreeing).head(PREVIEW_ROWS)
            if agreeing or disagreeing
            else pd.DataFrame()
        )
        return self.files.store.describe(caller, output_id), tally, preview


def _compared_chunk(
    chunk: pd.DataFrame, versions: list[ComparedVersion], runs: list[TableRun], tally: Tally
) -> tuple[pd.DataFrame, list[int]]:
    """The chunk with each version's prediction (and class name) column, the agreement and
    the reasons rows were not scored."""
    out = chunk.copy()
    answers, problems = [], pd.Series("", index=chunk.index, dtype=object)
    for compared, run in zip(versions, runs, strict=True):
        scored = run.score(ModelInput(chunk)).frame()
        column = PREDICTION_COLUMN if PREDICTION_COLUMN in scored else scored.columns[-1]
        values = jsonable(scored[column])
        answers.append(values)
        out[prediction_column(compared)] = scored[column]
        if compared.labels:
            out[label_column(compared)] = [label_of(compared.labels, v) or "" for v in values]
        if ERROR_COLUMN in scored:
            problems = problems.where(problems != "", scored[ERROR_COLUMN].fillna(""))
    local = tally.add(answers)
    agree = pd.Series(True, index=chunk.index)
    agree.iloc[local] = False
    out[AGREE_COLUMN] = agree
    if (problems != "").any():
        out[ERROR_COLUMN] = problems
    return out, local


def _keep(kept: list[pd.DataFrame], rows: pd.DataFrame) -> None:
    """A few rows for the preview, at most ``PREVIEW_ROWS`` in all."""
    room = PREVIEW_ROWS - sum(len(frame) for frame in kept)
    if room > 0 and len(rows):
        kept.append(rows.head(room))
