"""Each person's JSON and form runs (``services.history`` entries), kept on the server in the
database that holds the audit log and the jobs: every tab, every device and every worker
the person signs in from reads the same runs, and a reload loses none. File jobs are not
runs: ``services.jobs`` keeps those.

A run belongs to the user who made it; nobody else reads, finds or clears it. Only the
newest ``keep`` of each person are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import ColumnElement, Select

from services.access.caller import Caller
from services.database import TablesEngine
from services.errors import ConsoleError, cut, history_unavailable
from services.history import PREVIEW_CHARS, kept_input, valid_entries

log = logging.getLogger(__name__)

WAIT_SECONDS = 1  # a lock on SQLite: a prediction waits this long at most to keep its run
RUN_ID = re.compile(r"[0-9a-f]{12}")  # services.history's ids, in every version
MESSAGE_CHARS = 2_000

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
        self._tables = TablesEngine(url, metadata, WAIT_SECONDS)

    @property
    def engine(self) -> Engine:
        return self._tables.get()

    def prepare(self) -> None:
        """The table made before the first run needs it (a worker's warm-up)."""
        with _database():
            _ = self.engine

    def after_fork(self) -> None:
        self._tables.after_fork()

    def take_over(self, caller: Caller, entries: Any) -> list[str]:
        """Runs an older version kept in the caller's browser: at most their newest
        ``keep``, each as this version writes a run (``handed_runs``); one the caller already
        has, by its id, stays as it is. The ids taken (the browser forgets them)."""
        handed = handed_runs(entries, self.keep)
        if not handed:
            return []
        ids = [entry["id"] for entry in handed]
        with _database(), self.engine.begin() as connection:
            had = runs_table.c.owner == caller.user, runs_table.c.run_id.in_(ids)
            stored = set(connection.execute(select(runs_table.c.run_id).where(*had)).scalars())
            new = [entry for entry in reversed(handed) if entry["id"] not in stored]
            with contextlib.suppress(IntegrityError), connection.begin_nested():
                self._insert(connection, caller.user, new)  # unless sent twice at once
        return ids

    def remember(self, caller: Caller, entry: dict[str, Any]) -> None:
        """A run just made (its id is new), stored; a database problem is logged, not
        raised: the prediction it records was made, and its answer is shown."""
        try:
            with _database(), self.engine.begin() as connection:
                self._insert(connection, caller.user, valid_entries([entry]))
        except ConsoleError:
            log.warning("run %s not kept in the history: the database is unavailable", entry["id"])

    def _insert(self, connection: Connection, owner: str, entries: list[dict[str, Any]]) -> None:
        """``entries`` (oldest first) stored, and the owner's runs beyond the newest ``keep``
        removed, in two statements."""
        if not entries:
            return
        connection.execute(runs_table.insert(), [_row(owner, entry) for entry in entries])
        older = (
            select(runs_table.c.run_id)
            .where(runs_table.c.owner == owner)
            .order_by(runs_table.c.time.desc(), runs_table.c.saved.desc())
            .offset(self.keep)
        )
        connection.execute(
            delete(runs_table).where(runs_table.c.owner == owner, runs_table.c.run_id.in_(older))
        )

    def list(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's runs, newest first."""
        with _database(), self.engine.connect() as connection:
            records = list(connection.execute(self._newest(caller, runs_table.c.record)).scalars())
        return valid_entries([json.loads(record) for record in records])

    def version(self, caller: Caller) -> str:
        """Changes whenever the caller's runs do (a run stored has a new id, and its content
        never changes): what a poll compares, without reading the runs themselves."""
        with _database(), self.engine.connect() as connection:
            ids = connection.execute(self._newest(caller, runs_table.c.run_id)).scalars()
            return hashlib.sha256("|".join(ids).encode()).hexdigest()[:16]

    def _newest(self, caller: Caller, column: ColumnElement[Any]) -> Select[Any]:
        return (
            select(column)
            .where(runs_table.c.owner == caller.user)
            .order_by(runs_table.c.time.desc(), runs_table.c.saved.desc())
            .limit(self.keep)
        )

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


def handed_runs(entries: Any, keep: int) -> list[dict[str, Any]]:
    """What a browser hands over, as this version would have written it, newest first: at
    most ``keep`` runs, each id once and of the shape ``services.history`` makes; a time
    that is not one, or lies ahead, is now; text no longer than a run made here keeps."""
    now = datetime.now(UTC)
    runs: dict[str, dict[str, Any]] = {}
    for entry in valid_entries(entries):
        if RUN_ID.fullmatch(entry["id"]) and entry["id"] not in runs:
            runs[entry["id"]] = entry | {
                "time": _no_later_than(entry["time"], now),
                "input": kept_input(entry["input"]),
                "preview": cut(entry["preview"], PREVIEW_CHARS),
                "message": cut(entry["message"], MESSAGE_CHARS),
                "results": {},  # links to files long gone
            }
    return sorted(runs.values(), key=lambda run: run["time"], reverse=True)[:keep]


def _no_later_than(text: str, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return now.isoformat(timespec="seconds")
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return min(when, now).astimezone(UTC).isoformat(timespec="seconds")


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
