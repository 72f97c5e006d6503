"""Every alias move and traffic-split edit made through the console, in the audit database.

The registry keeps only where an alias points now; rolling back needs where it pointed
before. So each move the console makes is written here in the request that made it (a
commit, not the audit log's spool: the next request, in any worker, must find it). The
highest id is also the registry's *generation*: a worker that sees it change knows an alias
or a split moved since it remembered one, whichever process moved it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.database import TablesEngine, shared_database

ALIAS = "alias"
ROLLBACK = "rollback"  # an alias moved back by Roll back: it undoes the move before it
SPLIT = "split"
LISTED = 50  # the newest moves a history shows
WAIT_WRITING_SECONDS = 5
WAIT_READING_SECONDS = 0.25

metadata = MetaData()
moves_table = Table(
    "alias_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(40), nullable=False),
    Column("user", String(320), nullable=False),
    Column("model", String(500), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # alias, rollback, split (the tag's text as "to")
    Column("alias", String(255), nullable=False),
    Column("from_version", String(40)),  # None: the alias did not exist
    Column("to_version", String(2000)),  # None: the alias was deleted
    Column("evidence", String(255)),  # the evaluation shown when it was confirmed
)
NEWEST_MOVE = f"SELECT max(id) FROM {moves_table.name}"


@dataclass(frozen=True)
class AliasMove:
    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    user: str
    evidence: str | None = None
    kind: str = ALIAS
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}

    @property
    def text(self) -> str:
        """``Champion: v1 → v2 by alice at 10:04 UTC`` (the audit log's time zone)."""
        at = self.time[11:16]
        if self.kind == SPLIT:
            return f"traffic split: {self.to_version or 'removed'} by {self.user} at {at} UTC"
        before = f"v{self.from_version}" if self.from_version else "(new)"
        after = f"v{self.to_version}" if self.to_version else "(deleted)"
        undone = " (rolled back)" if self.kind == ROLLBACK else ""
        return f"{self.alias}: {before} → {after} by {self.user} at {at} UTC{undone}"


class AliasHistory:
    def __init__(self, url: str) -> None:
        self.url = url
        self._tables = TablesEngine(url, metadata, WAIT_WRITING_SECONDS)
        # the generation is read on every request: it waits for a locked database briefly
        self.reader = shared_database(url, WAIT_READING_SECONDS, write_ahead=False)

    @property
    def engine(self) -> Engine:
        return self._tables.get()

    def prepare(self) -> None:
        """The writer opened now, which makes the moves' table: until it exists, every
        request's generation read fails its query (an exception costs more than the read)."""
        self.engine  # noqa: B018

    def after_fork(self) -> None:
        self.reader.dispose(close=False)
        self._tables.after_fork()

    def record(self, move: AliasMove) -> AliasMove:
        """Committed before this returns: the move's id is the new generation."""
        row = {k: v for k, v in asdict(move).items() if k != "id"}
        with self.engine.begin() as connection:
            result = connection.execute(moves_table.insert(), [row])
            new_id = result.inserted_primary_key[0]
        return AliasMove(**{**row, "id": new_id})

    def moves(self, model: str, alias: str | None = None, limit: int = LISTED) -> list[AliasMove]:
        """Newest first; one alias's, or every alias's and split's of the model."""
        query = select(moves_table).where(moves_table.c.model == model)
        if alias is not None:
            query = query.where(
                moves_table.c.kind.in_((ALIAS, ROLLBACK)), moves_table.c.alias == alias
            )
        query = query.order_by(moves_table.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [AliasMove(**dict(row._mapping)) for row in connection.execute(query)]

    def generation(self) -> int | None:
        """The newest move's id (0 before any): one look at the primary key's end. None
        when the database cannot say (locked, away): then nothing remembered is trusted,
        and predictions go on."""
        try:
            with self.reader.connect() as connection:
                # as text: building the statement and its cache key cost as much as running it
                newest = connection.exec_driver_sql(NEWEST_MOVE).scalar()
                return int(newest or 0)
        except SQLAlchemyError as error:
            if _no_table(error):
                return 0  # no move was ever recorded here
            return None


def _no_table(error: SQLAlchemyError) -> bool:
    """SQLite says "no such table", PostgreSQL "does not exist" (UndefinedTable)."""
    text = str(getattr(error, "orig", error)).lower()
    return "no such table" in text or "does not exist" in text
