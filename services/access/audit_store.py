"""Where audit records live: a spool on local disk first, the database second.

Every record is appended to this process's spool file before the action's answer is sent
(one ``write``: a worker killed a moment later, SIGKILL or out of memory, has lost nothing).
A writer thread copies records into the database; whatever could not be copied (the database
locked, unreachable, the disk of the database full) stays in the spool and is copied by a
later sweep, in this process or in the next one to start. Each record carries its own id, so
a record copied twice is stored once. A record the database refuses on its own (and only
that one) is set aside in ``rejected.jsonl`` for the operator instead of blocking the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from services import metrics
from services.database import create_tables, shared_database

log = logging.getLogger("model_console.audit")

metadata = MetaData()
audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(32), unique=True),
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
    Column("job_input", String(500)),  # a table job's source and destination: names only
    Column("job_output", String(500)),
    Column("arm", String(255)),  # which arm of a traffic split answered
    Column("outputs", String(2000)),  # a compact summary of the answers (counts), never inputs
    Column("previous_version", String(40)),  # an alias move: from this version
    Column("evidence", String(255)),  # an alias move: the evaluation it was confirmed with
)
# Columns added after databases were made: added to those when first opened.
LATER_COLUMNS = {
    "job_input": "VARCHAR(500)",
    "job_output": "VARCHAR(500)",
    "arm": "VARCHAR(255)",
    "outputs": "VARCHAR(2000)",
    "previous_version": "VARCHAR(40)",
    "evidence": "VARCHAR(255)",
}
TEXT_LIMITS = {c.name: c.type.length for c in audit_table.columns if getattr(c.type, "length", 0)}
REJECTED = "rejected.jsonl"
SPOOL_SUFFIX = ".jsonl"
WAIT_SECONDS = 2  # a lock held longer: the records wait in the spool for the next round
IN_CLAUSE = 500


def fit_for_storage(row: dict[str, Any]) -> dict[str, Any]:
    """Text cut to its column's length and free of NUL (PostgreSQL refuses both, and a
    user name from a failed sign-in is whatever was sent)."""
    fitted = dict(row)  # a record spooled before the later columns existed: store() pads it
    for name, limit in TEXT_LIMITS.items():
        value = fitted.get(name)
        if isinstance(value, str):
            fitted[name] = value.replace("\x00", "\ufffd")[:limit]
    return fitted


class AuditDatabase:
    """The SQLAlchemy side: the table (added to a database made before records had ids),
    inserts that skip records already stored, one bad record kept from the others."""

    def __init__(self, url: str) -> None:
        self.engine = shared_database(url, WAIT_SECONDS)
        self._ready = False

    def ready(self) -> None:
        if self._ready:
            return
        create_tables(metadata, self.engine)
        columns = {c["name"] for c in inspect(self.engine).get_columns("audit_log")}
        if "record_id" not in columns:
            with self.engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_log ADD COLUMN record_id VARCHAR(32)"))
                connection.execute(
                    text(
                        "CREATE UNIQUE INDEX IF NOT EXISTS ix_audit_record_id "
                        "ON audit_log (record_id)"
                    )
                )
        for name, kind in LATER_COLUMNS.items():
            if name not in columns:
                with self.engine.begin() as connection:
                    connection.execute(text(f"ALTER TABLE audit_log ADD COLUMN {name} {kind}"))
        self._ready = True

    def store(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert the rows not stored yet; returns the ones the database refused by
        themselves. Raises when the database as a whole is not there (try again later)."""
        self.ready()
        # records spooled by an older console lack the later columns; one insert needs all
        fresh = [dict.fromkeys(LATER_COLUMNS) | row for row in self._missing(rows)]
        if not fresh:
            return []
        try:
            with self.engine.begin() as connection:
                connection.execute(audit_table.insert(), fresh)
            metrics.audit_stored(len(fresh))
            return []
        except SQLAlchemyError:
            if len(fresh) == 1:
                return self._alone(fresh[0])
        return [bad for row in fresh for bad in self._alone(row)]

    def _alone(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """One row by itself: stored, or refused for what it holds (returned). Anything else
        (a lock held too long, a lost connection, a full disk) is the database's state, not
        the record's: it raises, so the record waits for the next round."""
        try:
            with self.engine.begin() as connection:
                connection.execute(audit_table.insert(), [row])
            metrics.audit_stored(1)
            return []
        except (IntegrityError, DataError) as error:
            if not self._missing([row]):
                return []  # another process stored it a moment ago (and counted it)
            log.error("the audit database refused a record (%s); kept in %s", error, REJECTED)
            metrics.audit_stored(1)  # set aside: no longer waiting
            return [row]

    def _missing(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [row["record_id"] for row in rows]
        stored: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(ids), IN_CLAUSE):
                part = ids[start : start + IN_CLAUSE]
                query = select(audit_table.c.record_id).where(audit_table.c.record_id.in_(part))
                stored |= {found for (found,) in connection.execute(query)}
        return [row for row in rows if row["record_id"] not in stored]

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        self.ready()
        query = select(audit_table).order_by(audit_table.c.id)
        for column, value in where.items():
            query = query.where(audit_table.c[column] == value)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def after_fork(self) -> None:
        self.engine.dispose(close=False)  # never share the parent's pooled connections


class Spool:
    """This process's append-only file of records, and the files other processes left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self._pid: int | None = None
        self._handle: Any = None
        self._rejected: set[str] | None = None

    @property
    def own(self) -> Path:
        return self.folder / f"{socket.gethostname()}-{os.getpid()}{SPOOL_SUFFIX}"

    def append(self, line: str) -> None:
        """One record, as its JSON line."""
        line += "\n"
        with self.lock:
            if self._pid != os.getpid():  # a forked job writes a file of its own
                self.folder.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.own, "a", encoding="utf-8")  # noqa: SIM115
                self._pid = os.getpid()
            self._handle.write(line)
            self._handle.flush()

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(f"*{SPOOL_SUFFIX}") if p.name != REJECTED)

    def read(self, path: Path) -> tuple[list[dict[str, Any]], int]:
        """The records of one spool file (a line cut short by a crash is skipped), and the
        file's size when read."""
        with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as handle:
            data = handle.read()
            return [row for row in _lines(data) if row is not None], len(data.encode())
        return [], 0

    def dead(self, path: Path) -> bool:
        """A file whose process is gone on this machine (nobody appends to it any more)."""
        host, _, pid = path.stem.rpartition("-")
        if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def empty_own(self, size: int) -> None:
        """Start this process's file again, if nothing was appended since it was read."""
        with self.lock:
            own = self.own
            if own.exists() and own.stat().st_size == size and self._pid == os.getpid():
                self._handle.truncate(0)
                self._handle.seek(0)

    def set_aside(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        self.rejected()  # known before adding to it
        with self.lock, open(self.folder / REJECTED, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
                self._rejected.add(row.get("record_id"))

    def rejected(self) -> set[str]:
        """Ids of the records set aside (read once, then kept up to date)."""
        if self._rejected is None:
            rows, _ = self.read(self.folder / REJECTED)
            self._rejected = {row.get("record_id") for row in rows}
        return self._rejected

    def worth_storing(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        refused = self.rejected()
        return [row for row in rows if row.get("record_id") not in refused]

    def after_fork(self) -> None:
        self.lock = threading.Lock()


def _lines(data: str) -> Iterator[dict[str, Any] | None]:
    for line in data.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            yield None


@contextlib.contextmanager
def _sweeping_alone(folder: Path) -> Iterator[bool]:
    """True for the one process that sweeps now; the others skip this round."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".sweep.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sweep(spool: Spool, database: AuditDatabase) -> int | None:
    """Copy what the spool holds into the database; remove the files of processes that are
    gone, start this process's own again. Returns how many files are still waiting; None
    when another sweep was under way (this process's own file was not looked at)."""
    with _sweeping_alone(spool.folder) as alone:
        return _sweep(spool, database) if alone else None


def _sweep(spool: Spool, database: AuditDatabase) -> int:
    waiting, records = 0, 0
    for path in spool.files():
        dead, mine = spool.dead(path), path == spool.own
        if not (dead or mine):
            continue
        rows, size = spool.read(path)
        if not rows:  # nothing waits here: no reason to ask the database
            if dead:
                path.unlink(missing_ok=True)
            continue
        try:
            refused = database.store(spool.worth_storing(rows))
        except (SQLAlchemyError, OSError) as error:
            log.warning(
                "audit database unavailable (%s); %d records wait in %s",
                type(error).__name__,
                len(rows),
                path.name,
            )
            waiting, records = waiting + 1, records + len(rows)
            continue
        spool.set_aside(refused)
        if dead:
            path.unlink(missing_ok=True)
        else:
            spool.empty_own(size)
    metrics.audit_waiting(str(spool.folder), records)
    return waiting
