"""The audit log: one record per prediction, denial and failed prediction.

Records go to a SQLAlchemy database (SQLite under $APP_DATA_DIR by default, any URL through
AUDIT_DB_URL) and out as one JSON log line each. Each is on local disk before the action's
answer is sent, and reaches the database through a writer thread (see ``audit_store``):
nothing is lost to a killed worker or a database that is down for a while. ``close()`` writes
what is waiting (``create_app`` runs it at exit). Records hold who, what and how it went:
never payload values or credentials.

An action is audited through a scope: ``recording`` records its outcome whatever it is (a
prediction), ``recording_refusals`` only a refusal (a view of metadata).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from services import metrics
from services.access.audit_store import AuditDatabase, Spool, fit_for_storage, sweep
from services.access.caller import Caller
from services.errors import ConsoleError, PermissionDenied, Unauthenticated
from services.registry.records import is_version_number

log = logging.getLogger("model_console.audit")

OK = "ok"
DENIED = "denied"
ERROR = "error"
BATCH = 200
RETRY_SECONDS = 2  # how soon records that wait are tried again
SWEEP_SECONDS = 30  # how often gone processes' spool files are looked for
# Records are on disk (the spool) before they are queued, so the writer may gather them a
# moment: one insert and commit for many requests, rather than one each beside every request.
GATHER_SECONDS = 0.25
GATHER_STEP_SECONDS = 0.05  # how often the gathering writer looks at the queue
_FLUSH: dict[str, Any] = {}  # put by flush(): stop gathering, write what is there
UNEXPECTED = "INTERNAL_ERROR"


class Source(StrEnum):
    """Where an action came from: which face of the console, which tab."""

    API = "api"
    JSON = "json"
    FORM = "form"
    CSV = "csv"
    UI = "ui"
    SIGN_IN = "http"


@dataclass
class AuditRecord:
    user: str
    source: Source
    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    input_rows: int | None = None
    latency_ms: float | None = None
    outcome: str = OK
    error_code: str | None = None
    job_input: str | None = None  # a table job's source and destination: names, never data
    job_output: str | None = None
    arm: str | None = None
    outputs: str | None = None
    previous_version: str | None = None  # an alias move: where the alias pointed before
    evidence: str | None = None  # an alias move: the evaluation shown when it was confirmed
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


@dataclass
class AuditedAction:
    """Filled in while an audited action runs: which version it reached, how many rows."""

    model: str
    ref: str
    version: str | None = None
    alias: str | None = None
    rows: int | None = None
    job_input: str | None = None
    job_output: str | None = None
    arm: str | None = None
    outputs: str | None = None  # a compact summary of the answers (see monitor.outputs)
    previous_version: str | None = None
    evidence: str | None = None

    def reached(self, model: str, version: str, alias: str | None) -> None:
        self.model, self.version, self.alias = model, version, alias


class AuditLog:
    def __init__(self, url: str, spool_dir: Path | None = None) -> None:
        self.database = AuditDatabase(url)
        self.spool = Spool(spool_dir or _spool_beside(url))
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._gathering = threading.Event()  # set: stop gathering (a flush, or closing)

    @contextlib.contextmanager
    def recording(
        self, caller: Caller, source: Source, action: str, model: str, ref: str
    ) -> Iterator[AuditedAction]:
        """Record the action's outcome, whatever it is: done, refused, or failed (by our
        own errors or any other)."""
        audited, started = AuditedAction(model, ref), time.perf_counter()
        try:
            yield audited
        except Exception as error:
            self._record(caller, source, action, audited, started, error)
            raise
        self._record(caller, source, action, audited, started, None)

    @contextlib.contextmanager
    def recording_refusals(
        self, caller: Caller, source: Source, action: str, model: str, ref: str
    ) -> Iterator[AuditedAction]:
        """Record the action only if it is refused (a sign-in or a permission)."""
        audited, started = AuditedAction(model, ref), time.perf_counter()
        try:
            yield audited
        except (PermissionDenied, Unauthenticated) as error:
            self._record(caller, source, action, audited, started, error)
            raise

    def _record(
        self,
        caller: Caller,
        source: Source,
        action: str,
        audited: AuditedAction,
        started: float,
        error: Exception | None,
    ) -> None:
        numbered = is_version_number(audited.ref)
        self.record(
            AuditRecord(
                user=caller.user,
                source=source,
                action=action,
                model=audited.model,
                version=audited.version or (audited.ref if numbered else None),
                alias=audited.alias if audited.version else (None if numbered else audited.ref),
                input_rows=audited.rows,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                outcome=_outcome(error),
                error_code=_error_code(error),
                job_input=audited.job_input,
                job_output=audited.job_output,
                arm=audited.arm,
                outputs=audited.outputs,
                previous_version=audited.previous_version,
                evidence=audited.evidence,
            )
        )

    def record(self, record: AuditRecord) -> None:
        """On disk before this returns; in the database soon after. Never raises: an audit
        problem never costs a user their answer (it is logged, and the record waits)."""
        # every field is a plain value: a shallow copy (``asdict`` copies deeply)
        fields = {**vars(record), "record_id": os.urandom(16).hex()}
        row = fit_for_storage(fields)
        line = json.dumps(row, default=str, ensure_ascii=False)  # once, for log and spool
        log.info('{"audit": %s}', line)
        try:
            self.spool.append(line)
        except OSError:
            log.exception("could not spool an audit record; the log line above is its copy")
        metrics.audit_made()
        if os.getpid() != self._pid:
            self._store_now(row)
            return
        self._start_writer()
        self._queue.put(row)

    def _store_now(self, row: dict[str, Any]) -> None:
        """A forked job has no writer thread and ends without atexit: store at once; if the
        database is not there, the record waits in the job's spool file for a sweep."""
        try:
            self.spool.set_aside(self.database.store(self.spool.worth_storing([row])))
        except Exception as error:
            log.warning("audit record kept in the spool for later (%s)", type(error).__name__)

    def start(self) -> None:
        """Start the writer now (it first stores what killed processes left in the spool)."""
        self._start_writer()

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is None and not self._closed:
                self._writer = threading.Thread(
                    target=self._write_forever, name="audit-writer", daemon=True
                )
                self._writer.start()

    def sweep(self) -> int | None:
        """Copy what waits in the spool (this process's, and gone processes') into the
        database; how many spool files still wait (None: another sweep was under way, so
        this process's own file may still wait)."""
        try:
            return sweep(self.spool, self.database)
        except Exception:
            log.exception("audit sweep failed; the records stay in the spool")
            return 1

    def flush(self) -> None:
        """Return once every record queued so far has been tried (stored or spooled)."""
        with self._lock:
            writing = self._writer is not None and self._writer.is_alive()
        if writing:
            self._queue.put(_FLUSH)
            self._gathering.set()
        self._queue.join()

    def close(self) -> None:
        """Write what is queued and waiting, then stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer
        if writer is not None:
            self._queue.put(None)
            self._gathering.set()
            writer.join(timeout=30)

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        """Records, oldest first, optionally filtered by equal columns (for reports and tests)."""
        self.flush()
        return self.database.rows(**where)

    def after_fork(self) -> None:
        self.spool.after_fork()
        self.database.after_fork()

    def _write_forever(self) -> None:
        behind = self.sweep() != 0  # records a killed process left: replayed at start
        last_sweep = time.monotonic()
        while True:
            batch = self._next_batch()
            rows = [row for row in batch if row is not None and row is not _FLUSH]
            try:
                if rows:
                    self.spool.set_aside(self.database.store(self.spool.worth_storing(rows)))
            except Exception as error:  # the records are in the spool: a sweep stores them
                log.warning(
                    "audit database unavailable (%s); %d records wait in the spool",
                    type(error).__name__,
                    len(rows),
                )
                behind = True
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                self.sweep()
                return
            if behind or time.monotonic() - last_sweep > SWEEP_SECONDS:
                behind, last_sweep = self.sweep() != 0, time.monotonic()

    def _next_batch(self) -> list[dict[str, Any] | None]:
        """The first record wakes the writer; the ones after it are taken when the gathering
        ends, not each as it comes (a woken writer would take the GIL from the request that
        is answering)."""
        try:
            batch = [self._queue.get(timeout=RETRY_SECONDS)]
        except queue.Empty:
            return []
        until = time.monotonic() + GATHER_SECONDS
        while len(batch) < BATCH and batch[-1] is not None and batch[-1] is not _FLUSH:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            if time.monotonic() >= until:
                break
            if self._gathering.wait(min(GATHER_STEP_SECONDS, max(until - time.monotonic(), 0))):
                self._gathering.clear()  # what set it was queued before: the next look finds it
        return batch


def _spool_beside(url: str) -> Path:
    """Without a folder given: next to a SQLite database (the folder it is created in)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError("an audit log on a database server needs a spool folder")
    return Path(url[len(prefix) :]).parent / "audit-spool"


def _outcome(error: Exception | None) -> str:
    if error is None:
        return OK
    return DENIED if isinstance(error, (PermissionDenied, Unauthenticated)) else ERROR


def _error_code(error: Exception | None) -> str | None:
    if error is None:
        return None
    return error.error_code if isinstance(error, ConsoleError) else UNEXPECTED
