"""Files through the console: check an uploaded table against the model, score it in chunks
on the one table path, keep the result in the caller's own area for download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd

from services.access.audit import Source
from services.access.caller import Caller
from services.errors import InvalidInput, PayloadTooLarge
from services.files import results
from services.files.csv_io import (
    count_rows,
    delimiter_of,
    iter_csv,
    passthrough_columns,
    read_csv_head,
)
from services.files.observers import (
    ChunkObserver,
    ConfidenceCounts,
    DriftCounts,
    PredictionCounts,
    Preview,
    Progress,
    ProgressReport,
    ResultFiles,
)
from services.files.store import StoredFile, UserFiles
from services.registry.signature import SignatureInfo
from services.scoring.cells import problem_summary
from services.scoring.payload import ModelInput
from services.scoring.prediction import display_records
from services.scoring.service import ModelUse, ScoringService
from services.scoring.tables import BadRows, TableRun
from services.scoring.validation import likely_renames
from services.settings import Settings

PREVIEW_ROWS = 5
CHECKED_ROWS = 10_000
RESULT_PREVIEW_ROWS = 100
SUMMARY_PREDICTIONS = 5


@dataclass(frozen=True)
class ScoreOptions:
    """How a file is scored: the result's format (``every_format``: the others too, in the
    same pass, so a person can switch without scoring again), a ``probability_<class>``
    column per class, and drift against the training reference."""

    result_format: str = results.DEFAULT_RESULT_FORMAT
    every_format: bool = False
    probabilities: bool = False
    drift: bool = True


@dataclass
class FileCheck:
    """What a person should know about a file before predicting on it."""

    rows: int
    columns: list[str]
    missing: list[str] = field(default_factory=list)
    passthrough: list[str] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)  # {pass-through: missing it looks like}
    problems: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    checked_rows: int = 0
    separator: str = ","

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass
class ScoredFile:
    """A scored file: which version scored it, how it went, and where the result is."""

    model: str
    version: str
    alias: str | None
    rows: int
    failed_rows: int
    seconds: float
    predictions: list[Any]  # the first few, for a summary
    output: StoredFile  # in the format asked for
    preview: list[dict[str, Any]]  # the first rows of the result
    columns: list[str]
    outputs: dict[str, StoredFile] = field(default_factory=dict)  # every format written
    distribution: dict[str, Any] | None = None  # of the predictions, for the charts
    confidence: dict[str, Any] | None = None  # of the predicted class's probability
    labels: dict[str, str] | None = None  # the model's class names, for the charts
    drift: dict[str, Any] | None = None  # what was scored against the training reference

    def summary(self) -> dict[str, Any]:
        """What the API answers."""
        alias = {"alias": self.alias} if self.alias else {}
        return {
            "model": self.model,
            "version": self.version,
            **alias,
            "input_rows": self.rows,
            "failed_rows": self.failed_rows,
            "latency_ms": round(self.seconds * 1000, 3),
            "predictions": self.predictions,
            "distribution": self.distribution,
            "confidence": self.confidence,
            "drift": self.drift,
            "result_file": {
                "file_id": self.output.file_id,
                "filename": self.output.filename,
                "size": self.output.size,
            },
        }


class FileService:
    def __init__(
        self, settings: Settings, files: UserFiles, scoring: ScoringService, drift: Any = None
    ) -> None:
        self.settings = settings
        self.store = files
        self.scoring = scoring
        self.drift = drift  # a monitor.service.DriftService: each job's drift, same pass

    def upload(self, caller: Caller, filename: str, stream: IO[bytes]) -> StoredFile:
        stored = self.store.save_stream(caller, filename, stream, self.settings.upload_limit_bytes)
        if stored.size == 0:
            self.store.remove(caller, stored.file_id)
            raise InvalidInput(
                "The CSV file is empty: nothing arrived to upload.",
                hint="Choose the CSV file again; it needs a header row.",
            )
        return stored

    def check(
        self, caller: Caller, name: str, ref: str, file_id: str, source: Source = Source.CSV
    ) -> tuple[StoredFile, FileCheck]:
        """Columns and types against the signature, from the first rows; rows are counted
        without parsing, so a file of millions of rows is checked quickly."""
        stored = self.store.describe(caller, file_id)
        path = self.store.path(caller, file_id)
        with self.scoring.look(caller, name, ref, source) as use:
            signature = use.model.signature
        head = read_csv_head(path, signature, CHECKED_ROWS)
        present = set(head.columns)
        missing = [name for name in signature.required_columns if name not in present]
        passthrough = passthrough_columns(head.columns, signature)
        return stored, FileCheck(
            rows=count_rows(path),
            columns=[str(c) for c in head.columns],
            missing=missing,
            passthrough=passthrough,
            renames=likely_renames(missing, passthrough),
            problems=problem_summary(head, signature.columns),
            preview=display_records(head, PREVIEW_ROWS),
            checked_rows=len(head),
            separator=delimiter_of(path),
        )

    def score(
        self,
        use: ModelUse,
        file_id: str,
        options: ScoreOptions = ScoreOptions(),
        on_progress: Callable[[Progress], None] | None = None,
        owner: str = "request",
    ) -> ScoredFile:
        """Score the caller's stored file inside ``use`` (one resolution, one authorisation,
        one audit record for the whole file). ``owner``: the job writing the result, so a
        stopped job's unfinished files can be found and removed."""
        chosen = results.result_format(options.result_format)
        formats = [chosen] + [
            f for f in results.RESULT_FORMATS.values() if options.every_format and f is not chosen
        ]
        stored = self.store.describe(use.caller, file_id)
        run = self.scoring.table(use, BadRows.MARK, options.probabilities)
        files = ResultFiles(self.store, use.caller, owner, formats)
        watchers: list[ChunkObserver] = [PredictionCounts(), Preview()]
        if run.probability_columns:
            watchers.append(ConfidenceCounts(run.probability_columns))
        tally = self.drift.tally(use.caller, use) if options.drift and self.drift else None
        if tally is not None:
            watchers.append(DriftCounts(tally))
        if on_progress is not None:
            path = self.store.path(use.caller, stored.file_id)
            watchers.append(ProgressReport(on_progress, count_rows(path)))
        scored = self._score(use, run, stored, files, watchers)
        if tally is not None:
            scored.drift = self.drift.keep(use.caller, use, tally, use.source, stored.filename)
        return scored

    def score_upload(
        self,
        caller: Caller,
        name: str,
        ref: str,
        file_id: str,
        options: ScoreOptions = ScoreOptions(),
        *,
        source: Source = Source.API,
    ) -> ScoredFile:
        """``score`` in a model use of its own: the API's synchronous score route."""
        with self.scoring.use(caller, name, ref, source) as use:
            return self.score(use, file_id, options)

    def _score(
        self,
        use: ModelUse,
        run: TableRun,
        stored: StoredFile,
        files: ResultFiles,
        watchers: list[ChunkObserver],
    ) -> ScoredFile:
        """One table run over the file's chunks, each seen by every observer as it is read
        and scored; the result files publish only when the whole file is done."""
        signature = use.model.signature
        path = self.store.path(use.caller, stored.file_id)
        chunk_rows, as_text = self.settings.predict_chunk_rows, files.passthrough_as_text
        with files.open(stored, signature):
            for chunk in iter_csv(path, signature, chunk_rows, as_text):
                answer = run.score(ModelInput(chunk))
                scored = answer.frame()
                use.audited.rows = run.rows
                files.add(chunk, scored, answer.frame_as_sent())
                for watcher in watchers:
                    watcher.add(chunk, scored)
        found = {k: v for w in (files, *watchers) for k, v in w.found().items()}
        return ScoredFile(
            model=use.resolved.name,
            version=use.resolved.version,
            alias=use.resolved.alias,
            rows=run.rows,
            failed_rows=run.failed_rows,
            seconds=run.seconds,
            labels=use.model.labels,
            **found,
        )

    def keep_table(self, caller: Caller, frame: pd.DataFrame, filename: str) -> StoredFile:
        """A table (a JSON batch with its predictions) kept as CSV in the caller's area, for
        download while it exists."""
        chosen = results.result_format(results.CSV)
        with (
            self.store.writing(caller, filename) as (file_id, handle),
            chosen.open_writer(handle, SignatureInfo()) as write,
        ):
            write(frame)
        return self.store.describe(caller, file_id)

    def score_body(
        self,
        caller: Caller,
        name: str,
        ref: str,
        body: IO[bytes],
        refusal: Callable[[int], PayloadTooLarge],
        probabilities: bool = False,
    ) -> ScoredFile:
        """A CSV sent as a request body (at most ``max_request_bytes``): kept on disk while it
        is scored like an upload, so memory stays flat whatever its size. The input is
        removed once scored; the caller removes the result after sending it."""
        limit = self.settings.max_request_bytes
        stored = self.store.save_stream(caller, "request.csv", body, limit, refusal)
        try:
            options = ScoreOptions(probabilities=probabilities)
            return self.score_upload(caller, name, ref, stored.file_id, options)
        finally:
            self.store.remove(caller, stored.file_id)
