"""The audit log: one record per prediction, denial and failed prediction.

Records go to a SQLAlchemy database (SQLite under $APP_DATA_DIR by default, any URL through
AUDIT_DB_URL) and out as one JSON log line each. A writer thread batches the inserts so a
request only pays for a queue put; ``close()`` (also run at interpreter exit) writes what is
still queued. Records hold who, what and how it went: never payload values or credentials.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, select

log = logging.getLogger("model_console.audit")

OK = "ok"
DENIED = "denied"
ERROR = "error"
BATCH = 200

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
    source: str
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


class AuditLog:
    def __init__(self, url: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        _create_sqlite_folder(url)
        self.engine = create_engine(url, connect_args=connect_args)
        metadata.create_all(self.engine)
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue()
        self._writer = threading.Thread(
            target=self._write_forever, name="audit-writer", daemon=True
        )
        self._writer.start()
        self._closed = False
        self._pid = os.getpid()
        atexit.register(self.close)

    def record(self, record: AuditRecord) -> None:
        log.info(json.dumps({"audit": asdict(record)}, default=str))
        if os.getpid() != self._pid:
            self._record_in_forked_process(record)
            return
        self._queue.put(record)

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
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout=30)

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
