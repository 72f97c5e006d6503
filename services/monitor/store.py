"""Each job's drift summary, kept (statistics only, never rows) in the audit database, so
the Monitoring view can chart drift per column over time for a model version."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from services.database import create_tables, shared_database

WAIT_SECONDS = 5  # a lock on SQLite: a job's summary waits this long at most

metadata = MetaData()
drift_table = Table(
    "drift_summaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(40), nullable=False, index=True),
    Column("model", String(500), nullable=False, index=True),
    Column("version", String(40), nullable=False),
    Column("user", String(320), nullable=False),
    Column("source", String(20), nullable=False),
    Column("label", String(255)),  # what was scored: the file's name
    Column("rows", Integer, nullable=False),
    Column("indicative", Boolean, nullable=False),
    Column("summary", Text, nullable=False),
)


class DriftStore:
    def __init__(self, url: str) -> None:
        self.engine = shared_database(url, WAIT_SECONDS)
        self._ready_in: int | None = None
        self._lock = threading.Lock()

    def _ready(self) -> None:
        """The table, made once per process; two requests at once must not both create it."""
        with self._lock:
            if self._ready_in != os.getpid():
                create_tables(metadata, self.engine)
                self._ready_in = os.getpid()

    def add(
        self, model: str, version: str, user: str, source: str, label: str, summary: dict[str, Any]
    ) -> None:
        self._ready()
        row = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "model": model,
            "version": version,
            "user": user[:320],
            "source": source,
            "label": label[:255],
            "rows": summary["rows"],
            "indicative": summary["indicative"],
            "summary": json.dumps(summary, default=float),
        }
        with self.engine.begin() as connection:
            connection.execute(drift_table.insert(), [row])

    def summaries(self, model: str, version: str, since: str | None = None) -> list[dict[str, Any]]:
        """Oldest first."""
        self._ready()
        table = drift_table.c
        query = select(drift_table).where(table.model == model, table.version == version)
        if since:
            query = query.where(table.time >= since)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.id)).mappings().all()
        return [
            {
                "time": r["time"],
                "version": r["version"],
                "source": r["source"],
                "user": r["user"],
                "label": r["label"],
                **json.loads(r["summary"]),
            }
            for r in rows
        ]

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self.engine.dispose(close=False)
