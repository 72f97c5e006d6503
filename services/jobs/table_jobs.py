"""Table jobs: asynchronous scoring of an uploaded file (on this server or on Spark), a path
or a catalog table (on Spark), for the API's job routes and the console's table panel.

A job belongs to the user who started it: its record lives in that user's own folder of
``$APP_DATA_DIR/table-jobs``, found by the caller the server identifies on every request,
so another user's id leads nowhere (the same answer as an id that never existed). Every
check that can refuse a job (the engine, the locations, the file, the model and the
caller's right to it) runs in the request, before any Spark work. The job then runs in a
thread of the process that accepted it, inside one ``ScoringService.use`` (one resolution,
one authorisation, one audit record with rows, duration, outcome, source and destination).

Any process sharing ``APP_DATA_DIR`` answers for a job: the record is a file; a cancel is a
mark the running job looks for every second; a job whose heartbeat stops (its process was
restarted or killed) is reported as failed rather than running forever.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from services.access.audit import Source
from services.access.caller import Caller
from services.errors import ConsoleError, InvalidInput, scoring_job_broke, too_many_jobs
from services.files import results
from services.files.service import FileService, Progress
from services.jobs.table_store import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    JobStore,
    TableJob,
    new_job_id,
)
from services.scoring.service import ModelUse, ScoringService
from services.settings import Settings
from services.spark.backend import SparkBackend, SparkRun, TableProgress
from services.spark.locations import (
    Kind,
    Location,
    allowed_prefixes,
    check_allowed,
    parse_location,
)
from services.spark.session import JobCancelled

SPARK, LOCAL = "spark", "local"
HEARTBEAT_SECONDS = 1.0
ACTION = "score-table"


class TableJobs:
    def __init__(
        self,
        settings: Settings,
        scoring: ScoringService,
        files: FileService,
        store: JobStore,
    ) -> None:
        self.settings = settings
        self.scoring = scoring
        self.files = files
        self.store = store
        self.backend = SparkBackend(settings, files.store) if settings.spark_remote else None
        self.prefixes = allowed_prefixes(settings.spark_allowed_locations)
        self._cancels: dict[str, threading.Event] = {}

    @property
    def spark_configured(self) -> bool:
        return self.backend is not None

    def submit(self, caller: Caller, name: str, ref: str, body: Any) -> TableJob:
        """Check everything that can refuse the job, then start it; its record at once."""
        request = _request(body)
        engine = self._engine(request.get("engine"))
        source = parse_location(request.get("source"))
        destination = parse_location(request.get("destination"), destination=True)
        chosen = results.result_format(request.get("format") or results.PARQUET)
        self._check_places(engine, source, destination)
        if source.kind is Kind.UPLOAD:
            self.files.store.describe(caller, source.value)  # the caller's own, or "gone"
        if self.store.active(caller) >= self.settings.jobs_per_user:
            raise too_many_jobs(self.settings.jobs_per_user)
        with self.scoring.look(caller, name, ref, Source.API) as use:  # refused here: nothing
            resolved = use.resolved  # is shipped, and the refusal is audited
        job = TableJob(
            job_id=new_job_id(),
            model=resolved.name,
            ref=ref,
            version=resolved.version,
            engine=engine,
            source=source.name,
            destination=destination.name,
            format=chosen.name,
            state=RUNNING,
        )
        self.store.save(caller, job)
        cancelled = self._cancels[job.job_id] = threading.Event()
        thread = threading.Thread(
            target=self._run,
            name=f"table-job-{job.job_id[:8]}",
            args=(caller, job, source, destination, cancelled),
            daemon=True,
        )
        thread.start()
        return job

    def get(self, caller: Caller, job_id: str) -> TableJob:
        return self.store.load(caller, job_id)

    def list(self, caller: Caller) -> list[TableJob]:
        return self.store.all(caller)

    def cancel(self, caller: Caller, job_id: str) -> TableJob:
        """Ask the job to stop (whichever process runs it); a finished job stays as it is."""
        job = self.store.load(caller, job_id)
        if job.finished:
            return job
        self.store.request_cancel(caller, job_id)
        event = self._cancels.get(job_id)
        if event is not None:
            event.set()
        job.cancel_requested = True
        return job

    def _engine(self, raw: object) -> str:
        engine = (raw or (SPARK if self.backend else LOCAL)) if raw != "" else LOCAL
        if engine not in (SPARK, LOCAL):
            raise InvalidInput(
                "Unknown engine. Choose spark or local.",
                hint="local scores an uploaded file on this server.",
            )
        if engine == SPARK and self.backend is None:
            raise InvalidInput(
                "This console has no Spark backend.",
                hint="Use engine local, or ask the operator to set SPARK_REMOTE.",
            )
        return str(engine)

    def _check_places(self, engine: str, source: Location, destination: Location) -> None:
        """Before any Spark work: the local engine only reads uploads and keeps results in
        the user's area; Spark reads and writes only where the operator allows."""
        if engine == LOCAL and (
            source.kind is not Kind.UPLOAD or destination.kind is not Kind.MINE
        ):
            raise InvalidInput(
                "This server scores only uploaded files, into your own files.",
                hint="Use engine spark for paths and tables.",
            )
        private = str(self.settings.app_data_dir)
        check_allowed(source, self.prefixes, writing=False, private=private)
        check_allowed(destination, self.prefixes, writing=True, private=private)

    def _run(
        self,
        caller: Caller,
        job: TableJob,
        source: Location,
        destination: Location,
        cancelled: threading.Event,
    ) -> None:
        beating = _Heartbeat(self.store, caller, job, cancelled)
        try:
            with self.scoring.use(caller, job.model, job.ref, Source.API, ACTION) as use:
                use.audited.job_input, use.audited.job_output = source.name, destination.name
                self._score(caller, use, job, source, destination, cancelled)
                job.state = SUCCEEDED
        except JobCancelled:
            job.state, job.error = CANCELLED, None
        except ConsoleError as error:
            job.state = CANCELLED if cancelled.is_set() else FAILED
            job.error = None if cancelled.is_set() else error.to_dict()
        except Exception:  # any failure must end in a state a user can read
            job.state, job.error = FAILED, scoring_job_broke().to_dict()
        finally:
            beating.stop()
            job.updated = time.time()
            self.store.save(caller, job)
            self.files.store.discard(caller, job.job_id)  # an unfinished result goes
            self._cancels.pop(job.job_id, None)

    def _score(
        self,
        caller: Caller,
        use: ModelUse,
        job: TableJob,
        source: Location,
        destination: Location,
        cancelled: threading.Event,
    ) -> None:
        if job.engine == LOCAL:
            scored = self.files.score_in(
                use, caller, source.value, job.format, _local_progress(job, cancelled), job.job_id
            )
            job.summary = _summary(use, scored.rows, scored.failed_rows, scored.seconds)
            job.result = {"location": "your files", **_file(scored.output)}
            return
        assert self.backend is not None
        run = SparkRun(
            use,
            caller,
            source,
            destination,
            results.result_format(job.format),
            job.job_id,
            _spark_progress(job),
            cancelled,
        )
        outcome = self.backend.run(run)
        use.audited.rows = outcome.rows
        job.summary = _summary(use, outcome.rows, outcome.failed_rows, outcome.seconds)
        job.result = {
            "location": outcome.location,
            **(_file(outcome.result_file) if outcome.result_file else {}),
        }
        job.progress = {**job.progress, "rows_done": outcome.rows, "percent": 100}


class _Heartbeat:
    """Saves the job's progress every second (so any process can answer, and a stopped
    beat means a lost job) and turns a cancel mark left by another process into the event."""

    def __init__(self, store: JobStore, caller: Caller, job: TableJob, cancelled: threading.Event):
        self.store, self.caller, self.job, self.cancelled = store, caller, job, cancelled
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="table-job-beat")
        self.thread.start()

    def _beat(self) -> None:
        while not self.done.wait(HEARTBEAT_SECONDS):
            if self.store.cancel_requested(self.caller, self.job.job_id):
                self.cancelled.set()
                self.job.cancel_requested = True
            self.job.updated = time.time()
            if not self.done.is_set():
                self.store.save(self.caller, self.job)

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)


def _request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput(
            'Send a JSON object: {"source": ..., "destination": ..., "format": ..., "engine": ...}.'
        )
    return body


def _local_progress(job: TableJob, cancelled: threading.Event):
    def report(progress: Progress) -> None:
        if cancelled.is_set():
            raise JobCancelled("The job was cancelled; nothing was published.")
        job.progress = {
            "rows_done": progress.done,
            "rows_total": progress.total,
            "percent": progress.percent,
            "eta_seconds": progress.eta_seconds,
        }

    return report


def _spark_progress(job: TableJob):
    def report(progress: TableProgress) -> None:
        percent = (
            int(100 * progress.tasks_done / progress.tasks_total) if progress.tasks_total else 0
        )
        job.progress = {
            "tasks_done": progress.tasks_done,
            "tasks_total": progress.tasks_total,
            "rows_done": progress.rows_done,
            "rows_total": progress.rows_total,
            "percent": percent,
            "eta_seconds": progress.eta_seconds,
        }

    return report


def _summary(use: ModelUse, rows: int, failed: int, seconds: float) -> dict[str, Any]:
    resolved = use.resolved
    return {
        "model": resolved.name,
        "version": resolved.version,
        "alias": resolved.alias,
        "input_rows": rows,
        "failed_rows": failed,
        "seconds": round(seconds, 3),
    }


def _file(stored: Any) -> dict[str, Any]:
    return {"file_id": stored.file_id, "filename": stored.filename, "size": stored.size}
