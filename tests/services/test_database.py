"""The console's database opened by every store of several processes at once, as the
workers of a fresh data dir open it on their first requests."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.database import shared_database
from tests.processes import PROJECT
from tests.services.access.test_audit_faults import locked

ROUNDS = 12
ROUND_SECONDS = 0.4
STORES = ("audit", "audit", "jobs", "jobs", "aliases", "drift")
# One process: for each round, at the round's moment, opens a new store of its kind on that
# round's fresh database and uses it a few times; prints every error it met.
OPENING = """
import json, os, sys, time
from services.access.audit_store import AuditDatabase
from services.jobs.store import JobStore
from services.monitor.store import DriftStore
from services.registry.alias_history import AliasHistory

kind, folder = sys.argv[1], sys.argv[2]
start, rounds, pause = json.loads(sys.argv[3])
record = {"time": "t", "user": "u", "source": "api", "action": "predict", "outcome": "ok"}
errors = []
for number in range(rounds):
    url = f"sqlite:///{folder}/{number}/audit.db"
    time.sleep(max(0.0, start + number * pause - time.time()))
    try:
        if kind == "audit":
            database = AuditDatabase(url)
            for _ in range(5):
                database.store([record | {"record_id": os.urandom(16).hex()}])
        elif kind == "jobs":
            jobs = JobStore(url, 60, 60, 60)
            for _ in range(5):
                jobs.list("u")
        elif kind == "aliases":
            AliasHistory(url).engine
        else:
            DriftStore(url).summaries("m", "1")
    except Exception as error:
        errors.append(f"round {number}: {type(error).__name__}: {str(error).splitlines()[0]}")
print(json.dumps(errors))
"""


def test_every_store_of_every_process_opens_a_fresh_database_at_once(tmp_path: Path) -> None:
    """The soak once got a 500 on its first CSV job: "database is locked" from a job store
    switching a fresh audit database to write-ahead logging while another worker's audit
    writer held it, and "table already exists" when two made the same table."""
    start = time.time() + 4  # the processes' imports, then every round begins together
    timing = json.dumps([start, ROUNDS, ROUND_SECONDS])
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENING, kind, str(tmp_path), timing],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind in STORES
    ]
    errors = []
    for kind, process in zip(STORES, processes, strict=True):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        errors += [f"{kind} {error}" for error in json.loads(out)]
    assert errors == []
    for number in range(ROUNDS):
        path = tmp_path / str(number) / "audit.db"
        assert journal_mode(path) == "wal"
        engine = create_engine(f"sqlite:///{path}")
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {"audit_log", "console_jobs", "alias_moves", "drift_summaries"} <= tables


def test_a_fresh_database_is_switched_once_a_writer_lets_go(tmp_path: Path) -> None:
    """SQLite refuses the switch at once while another process writes; the store asks again
    until the writer is done, within its wait."""
    path = fresh_database(tmp_path)
    engine = shared_database(f"sqlite:///{path}", wait_seconds=3)
    with ThreadPoolExecutor(1) as pool:
        with locked(path):
            counted = pool.submit(count_made_first, engine)
            time.sleep(0.3)  # the writer lets go; the store is still asking
        assert counted.result(timeout=10) == 0
    engine.dispose()
    assert journal_mode(path) == "wal"


def test_a_writer_that_never_lets_go_is_said_within_the_wait(tmp_path: Path) -> None:
    path = fresh_database(tmp_path)
    engine = shared_database(f"sqlite:///{path}", wait_seconds=0.5)
    with locked(path):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            count_made_first(engine)
        assert time.monotonic() - started < 5
    engine.dispose()


def fresh_database(folder: Path) -> Path:
    """A SQLite file as a first process leaves it: one table, still in rollback mode."""
    path = folder / "audit.db"
    with contextlib.closing(sqlite3.connect(path)) as made:
        made.execute("CREATE TABLE made_first (id INTEGER)")
    return path


def count_made_first(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT count(*) FROM made_first").scalar()


def journal_mode(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]
