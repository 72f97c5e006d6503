"""CSV files in the console: keep the upload, check it against the model, score it in chunks,
offer the result for download. Files live in the caller's own area (``UserFiles``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd

from services import results
from services.console import BatchSummary, ModelConsole
from services.csv_io import count_rows, iter_csv, passthrough_columns, read_csv_head
from services.errors import InvalidInput
from services.files import StoredFile, UserFiles, result_name
from services.identity import Caller
from services.prediction import display_records
from services.validation import column_problems

PREVIEW_ROWS = 5
CHECKED_ROWS = 10_000
RESULT_PREVIEW_ROWS = 100
_PAGE_LOAD = re.compile(r"^[0-9a-f]{32}$")
ENDED, PROGRESSED = "ended", "progressed"  # marks a scoring job leaves in the caller's area


@dataclass
class CsvCheck:
    """What a person should know about a file before predicting on it."""

    rows: int
    columns: list[str]
    missing: list[str] = field(default_factory=list)
    passthrough: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    checked_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass
class CsvPrediction:
    summary: BatchSummary
    download: StoredFile
    preview: list[dict[str, Any]]
    columns: list[str]

    @property
    def result(self) -> Any:
        return self.summary.result


@dataclass
class Progress:
    """Rows done of all rows, and when the rest should be done at this pace."""

    done: int
    total: int
    seconds: float

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.done / self.total)) if self.total else 0

    @property
    def eta_seconds(self) -> float | None:
        if not self.done or self.done >= self.total:
            return None
        return self.seconds * (self.total - self.done) / self.done


def job_key(page_load: str | None, run: int | None) -> str:
    """One scoring run: the page load that started it and its Predict count."""
    if not _PAGE_LOAD.match(page_load or "") or type(run) is not int or not 0 <= run < 10**9:
        raise InvalidInput("This page's job reference is not valid.", hint="Reload the page.")
    return f"{page_load}-{run}"


class CsvService:
    def __init__(self, console: ModelConsole, files: UserFiles) -> None:
        self.console = console
        self.files = files

    def store(self, caller: Caller, filename: str, raw: bytes) -> StoredFile:
        return self.files.save(caller, filename, raw)

    def store_stream(
        self, caller: Caller, filename: str, stream: IO[bytes], limit: int
    ) -> StoredFile:
        return self.files.save_stream(caller, filename, stream, limit)

    def check(
        self, caller: Caller, name: str, ref: str, file_id: str
    ) -> tuple[StoredFile, CsvCheck]:
        """Columns and types against the signature, from the first rows; rows are counted
        without parsing, so a file of millions of rows is checked in about a second."""
        stored = self.files.describe(caller, file_id)
        path = self.files.path(caller, file_id)
        model = self.console.load_audited(caller, name, ref, "csv", "view", always=False)
        head = read_csv_head(path, model.signature, CHECKED_ROWS)
        present = set(head.columns)
        check = CsvCheck(
            rows=count_rows(path),
            columns=[str(c) for c in head.columns],
            missing=[name for name in model.signature.required_columns if name not in present],
            passthrough=passthrough_columns(head.columns, model.signature),
            problems=column_problems(head, model.signature.columns),
            preview=display_records(head, PREVIEW_ROWS),
            checked_rows=len(head),
        )
        return stored, check

    def score(
        self,
        caller: Caller,
        name: str,
        ref: str,
        file_id: str,
        on_progress: Callable[[Progress], None] | None = None,
        result_format: str = results.DEFAULT_RESULT_FORMAT,
    ) -> CsvPrediction:
        """Score the stored file chunk by chunk, writing the result as it is produced, as
        ``result_format`` (a name in ``RESULT_FORMATS``; another name is ``InvalidInput``)."""
        chosen = results.result_format(result_format)
        stored = self.files.describe(caller, file_id)
        path = self.files.path(caller, file_id)
        model = self.console.load_audited(caller, name, ref, "csv", "predict", always=True)
        total = count_rows(path)
        started = time.monotonic()
        chunk_rows = self.console.settings.predict_chunk_rows
        chunks = iter_csv(path, model.signature, chunk_rows, chosen.passthrough_as_text)
        preview: list[pd.DataFrame] = []

        def report(done: int) -> None:
            if on_progress is not None:
                on_progress(Progress(done, total, time.monotonic() - started))

        target = result_name(stored.filename, chosen.extension)
        with (
            self.files.writing(caller, target) as (result_id, handle),
            chosen.open_writer(handle, model.signature) as write_chunk,
        ):

            def write(scored: pd.DataFrame) -> None:
                if not preview:
                    preview.append(scored.head(RESULT_PREVIEW_ROWS))
                write_chunk(scored)

            summary = self.console.score_frames(caller, name, ref, chunks, write, report, "csv")
        first = preview[0] if preview else pd.DataFrame()
        return CsvPrediction(
            summary=summary,
            download=self.files.describe(caller, result_id),
            preview=display_records(first),
            columns=[str(c) for c in first.columns],
        )

    def finish_job(self, caller: Caller, job: str) -> None:
        """Called by a scoring job on its way out, whatever the outcome."""
        self.files.mark(caller, job, ENDED)

    def job_finished(self, caller: Caller, job: str) -> bool:
        """False for a job that stopped without reaching its end: its process was killed
        (out of memory, a lost worker), so nothing else will ever say what happened."""
        return self.files.has_mark(caller, job, ENDED)

    def job_progressed(self, caller: Caller, job: str) -> None:
        """Called by a scoring job after every chunk."""
        self.files.mark(caller, job, PROGRESSED)

    def progress_stamp(self, caller: Caller, job: str) -> float | None:
        """A value that changes whenever the job reports progress (None before it does). A
        job whose whole worker is gone (a Celery worker's machine, say) never stops by
        itself: only a stamp that stops changing tells. Compared with itself, never with
        this machine's clock: the worker may run on another machine."""
        return self.files.mark_time(caller, job, PROGRESSED)

    def download(self, caller: Caller, file_id: str) -> tuple[str, bytes]:
        stored, raw = self.files.read(caller, file_id)
        return stored.filename, raw
