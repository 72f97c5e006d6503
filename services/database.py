"""The console's own SQL database (the audit log's: SQLite under $APP_DATA_DIR by default,
with AUDIT_DB_URL a PostgreSQL every replica shares): engines on it and its tables.

The audit log, the jobs, the runs, the alias moves and the drift summaries keep their tables
in that one database, and every worker process opens it at once on a fresh data dir. Two things go
wrong there unless every store opens it the same way:

- a SQLite file starts in rollback-journal mode. Switching it to write-ahead logging takes
  an exclusive lock: while another connection writes, SQLite refuses the switch at once
  ("database is locked", no busy wait), and while another reads, it waits out the busy
  timeout. So each new connection reads the mode first (a switched file stays switched)
  and only the first ones switch it, asking again while the file is locked, for about
  ``wait_seconds`` (up to twice that, when a last try starts just before the deadline).
  Once switched, readers never wait for a writer.
- ``create_all`` checks for a table, then creates it: two processes both see none, and the
  second's ``CREATE TABLE`` fails with "already exists". Asked again, it sees the table.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

TABLE_ATTEMPTS = 3
SWITCH_PAUSE_SECONDS = 0.05


def _sqlite_folder(database: str | None) -> None:
    """SQLite creates the database file on first use, but not the folder it lives in."""
    if database not in (None, "", ":memory:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def shared_database(url: str, wait_seconds: float, write_ahead: bool = True) -> Engine:
    """An engine on the console's database: on SQLite, its folder made, ``wait_seconds`` for
    a lock, and write-ahead logging so readers (every poll, every request's alias
    generation) never wait for a writer. A reader that must not write passes
    ``write_ahead=False`` (switching the file is a write)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    _sqlite_folder(parsed.database)
    arguments = {"check_same_thread": False, "timeout": wait_seconds}
    engine = create_engine(url, connect_args=arguments)
    if write_ahead:
        event.listen(engine, "connect", _switching_to_write_ahead(wait_seconds))
    return engine


def _switching_to_write_ahead(wait_seconds: float) -> Any:
    def switch(connection: sqlite3.Connection, _: Any) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                if _journal_mode(connection) != "wal":
                    # a file system without shared memory keeps the mode it has, no error
                    connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(SWITCH_PAUSE_SECONDS)

    return switch


def _journal_mode(connection: sqlite3.Connection) -> str:
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    return str(mode).lower()


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """``metadata.create_all``, asked again when another process created a table between
    its check and its ``CREATE``; any other failure (a lock, a database away) raises at
    once, so a request waits for it only once."""
    for attempt in range(1, TABLE_ATTEMPTS + 1):
        try:
            metadata.create_all(engine)
            return
        except SQLAlchemyError as error:
            if attempt == TABLE_ATTEMPTS or not _made_meanwhile(error):
                raise


def _made_meanwhile(error: SQLAlchemyError) -> bool:
    # SQLite and PostgreSQL say "already exists"; two PostgreSQL sessions creating one table
    # at once can also collide on its row type: "duplicate key value … pg_type"
    said = str(getattr(error, "orig", error)).lower()
    return "already exists" in said or ("duplicate key" in said and "pg_type" in said)


class TablesEngine:
    """A store's engine, opened on first use with its tables made: a worker's threads ask
    at once on its first requests, so it is shared only once its tables exist (else another
    thread queries a table not made yet)."""

    def __init__(self, url: str, metadata: MetaData, wait_seconds: float) -> None:
        self.url, self.metadata, self.wait_seconds = url, metadata, wait_seconds
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = shared_database(self.url, self.wait_seconds)
                    create_tables(self.metadata, engine)
                    self._engine = engine
        return self._engine

    def after_fork(self) -> None:
        """In a forked process: a fresh lock (another thread may have held it at the fork),
        and never the parent's connections."""
        self._lock = threading.Lock()
        if self._engine is not None:
            self._engine.dispose(close=False)
