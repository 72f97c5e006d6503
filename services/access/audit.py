"""The audit log: one record per prediction, denial and failed prediction.

Records go to a SQLAlchemy database (SQLite under $APP_DATA_DIR by default, any URL through
AUDIT_DB_URL) and out as one JSON log line each. A writer thread, started with the first
record, batches the inserts so a request only pays for a queue put; ``close()`` writes what is
still queued (``create_app`` runs it at exit). Records hold who, what and how it went: never
payload values or credentials.

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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, select

from services.access.caller import Caller
from services.errors import ConsoleError, PermissionDenied, Unauthenticated

log = logging.getLogger("model_console.audit")

OK = "ok"
DENIED = "denied"
ERROR = "error"
BATCH = 200
UNEXPECTED = "INTERNAL_ERROR"


class Source(StrEnum):
    """Where an action came from: which face of the console, which tab."""

    API = "api"
    JSON = "json"
    FORM = "form"
    CSV = "csv"
    UI = "ui"
    SIGN_IN = "http"


metadata = MetaData()
audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(40), nullable=False, index=True),
    Column("user", String(320), nullable=False, index=True),
    Column("source", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("model", String(500)),
    Column("version", String(40)),
    Column("alias", String(255)),
    Column("input_rows", Integer),
    Column("latency_ms", Float),
    Column("outcome", String(20), nullable=False),
    Column("error_code", String(60)),
)


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
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


def _create_sqlite_folder(url: str) -> None:
    """SQLite creates the database file on first use, but not the folder it lives in."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != f"{prefix}:memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


@dataclass
class AuditedAction:
    """Filled in while an audited action runs: which version it reached, how many rows."""

    model: str
    ref: str
    version: str | None = None
    alias: str | None = None
    rows: int | None = None

    def reached(self, model: str, version: str, alias: str | None) -> None:
        self.model, self.version, self.alias = model, version, alias


class AuditLog:
    def __init__(self, url: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        _create_sqlite_folder(url)
        self.engine = create_engine(url, connect_args=connect_args)
        metadata.create_all(self.engine)
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._pid = os.getpid()
        self._lock = threading.Lock()

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
        numbered = audited.ref.isdigit()
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
            )
        )

    def record(self, record: AuditRecord) -> None:
        log.info(json.dumps({"audit": asdict(record)}, default=str))
        if os.getpid() != self._pid:
            self._record_in_forked_process(record)
            return
        self._start_writer()
        self._queue.put(record)

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is None and not self._closed:
                self._writer = threading.Thread(
                    target=self._write_forever, name="audit-writer", daemon=True
                )
                self._writer.start()

    def _record_in_forked_process(self, record: AuditRecord) -> None:
        """Background jobs run in a forked process: no writer thread exists there and it ends
        without running atexit, so write at once (on connections of its own)."""
        if getattr(self, "_forked_pid", None) != os.getpid():
            self.engine.dispose(close=False)  # never share the parent's pooled connections
            self._forked_pid = os.getpid()
        self._insert([record])

    def flush(self) -> None:
        """Return once every record so far is in the database."""
        self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer
        if writer is not None:
            self._queue.put(None)
            writer.join(timeout=30)

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        """Records, oldest first, optionally filtered by equal columns (for reports and tests)."""
        self.flush()
        query = select(audit_table).order_by(audit_table.c.id)
        for column, value in where.items():
            query = query.where(audit_table.c[column] == value)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            try:
                if records:
                    self._insert(records)
            except Exception:  # the log line is out already; never let a failing insert kill us
                log.exception("could not write %d audit records", len(records))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(records) < len(batch):
                return

    def _insert(self, records: list[AuditRecord]) -> None:
        with self.engine.begin() as connection:
            connection.execute(audit_table.insert(), [asdict(r) for r in records])


def _outcome(error: Exception | None) -> str:
    if error is None:
        return OK
    return DENIED if isinstance(error, (PermissionDenied, Unauthenticated)) else ERROR


def _error_code(error: Exception | None) -> str | None:
    if error is None:
        return None
    return error.error_code if isinstance(error, ConsoleError) else UNEXPECTED
