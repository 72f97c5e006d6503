"""Each person's JSON and form runs (``services.history`` entries), kept on the server in the
database that holds the audit log and the jobs: every tab, every device and every worker
the person signs in from reads the same runs, and a reload loses none. File jobs are not
runs: ``services.jobs`` keeps those.

A run belongs to the user who made it; nobody else reads, finds or clears it. Only the
newest ``keep`` of each person are kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from services.access.caller import Caller
from services.database import create_tables, shared_database
from services.errors import ConsoleError, history_unavailable
from services.history import valid_entries

log = logging.getLogger(__name__)

WAIT_SECONDS = 5  # a lock on SQLite: a prediction's record or a poll waits this long at most

metadata = MetaData()
runs_table = Table(
    "console_runs",
    metadata,
    Column("owner", String(320), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("time", String(40), nullable=False, index=True),  # ISO 8601, UTC: sorts as time
    Column("saved", Float, nullable=False),  # orders the runs of one second
    Column("record", Text, nullable=False),
)


class RunHistory:
    def __init__(self, url: str, keep: int) -> None:
        self.url = url
        self.keep = keep
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        # a worker's threads ask at once on its first requests: shared once its table exists
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    engine = shared_database(self.url, WAIT_SECONDS)
                    create_tables(metadata, engine)
                    self._engine = engine
        return self._engine

    def prepare(self) -> None:
        """The table made before the first run needs it (a worker's warm-up)."""
        with _database():
            _ = self.engine

    def after_fork(self) -> None:
        self._engine_lock = threading.Lock()  # another thread may have held it at the fork
        if self._engine is not None:
            self._engine.dispose(close=False)  # never share the parent's connections

    def add(self, caller: Caller, *entries: dict[str, Any]) -> None:
        """The caller's runs stored (one already there, by its id, stays as it is), then only
        their newest ``keep``."""
        kept = valid_entries(list(entries))
        if not kept:
            return
        with _database(), self.engine.begin() as connection:
            stored = set(
                connection.execute(
                    select(runs_table.c.run_id).where(
                        runs_table.c.owner == caller.user,
                        runs_table.c.run_id.in_([e["id"] for e in kept]),
                    )
                ).scalars()
            )
            new = [_row(caller.user, e) for e in kept if e["id"] not in stored]
            if new:
                with contextlib.suppress(IntegrityError):  # the same run, sent twice at once
                    connection.execute(runs_table.insert(), new)
            self._drop_older(connection, caller.user)

    def _drop_older(self, connection: Any, owner: str) -> None:
        older = (
            select(runs_table.c.run_id)
            .where(runs_table.c.owner == owner)
            .order_by(runs_table.c.time.desc(), runs_table.c.saved.desc())
            .offset(self.keep)
        )
        gone = list(connection.execute(older).scalars())
        if gone:
            connection.execute(
                delete(runs_table).where(runs_table.c.owner == owner, runs_table.c.run_id.in_(gone))
            )

    def remember(self, caller: Caller, entry: dict[str, Any]) -> None:
        """A run just made, stored; a database problem is logged, not raised: the prediction
        it records was made, and its answer is shown."""
        try:
            self.add(caller, entry)
        except ConsoleError:
            log.warning("run %s not kept in the history: the database is unavailable", entry["id"])

    def list(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's runs, newest first."""
        query = (
            select(runs_table.c.record)
            .where(runs_table.c.owner == caller.user)
            .order_by(runs_table.c.time.desc(), runs_table.c.saved.desc())
            .limit(self.keep)
        )
        with _database(), self.engine.connect() as connection:
            records = list(connection.execute(query).scalars())
        return valid_entries([json.loads(record) for record in records])

    def find(self, caller: Caller, run_id: str) -> dict[str, Any] | None:
        """One of the caller's runs; anyone else's reads as none."""
        query = select(runs_table.c.record).where(
            runs_table.c.owner == caller.user, runs_table.c.run_id == run_id
        )
        with _database(), self.engine.connect() as connection:
            record = connection.execute(query).scalar()
        found = valid_entries([json.loads(record)]) if record is not None else []
        return found[0] if found else None

    def clear(self, caller: Caller) -> None:
        with _database(), self.engine.begin() as connection:
            connection.execute(delete(runs_table).where(runs_table.c.owner == caller.user))


def _row(owner: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "owner": owner,
        "run_id": entry["id"],
        "time": entry["time"],
        "saved": time.time(),
        "record": json.dumps(entry, default=str),
    }


@contextlib.contextmanager
def _database() -> Iterator[None]:
    """The database busy or away: said in words (503), never a 500."""
    try:
        yield
    except SQLAlchemyError:
        raise history_unavailable() from None
