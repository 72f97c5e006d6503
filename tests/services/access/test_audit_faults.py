"""No audit record is lost to a fault, tested with real processes and real databases: a
database locked by another process, one that refuses a record, one that is not there yet
(PostgreSQL), a web worker killed by SIGKILL, a CSV job whose audit insert fails."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app import create_app
from services import metrics
from services.access.audit import AuditLog, AuditRecord, Source
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.conftest import SETOSA, free_port
from tests.dash_requests import page_token, score_request, start_error, started_job
from tests.postgres_server import free_port as pg_port
from tests.postgres_server import postgres_url, running_postgres
from tests.processes import clean_environment, running, wait_for
from tests.waiting import until

CHURN = {"name": CHURN_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}


def record(number: int, user: str | None = None) -> AuditRecord:
    return AuditRecord(
        user=user or f"user-{number}",
        source=Source.API,
        action="predict",
        model=IRIS_MODEL,
        version="1",
        input_rows=number,
    )


@contextmanager
def locked(database: Path):
    """Another process's write lock on a SQLite database: nobody else may write; readers go
    on (the console's database is in write-ahead mode, where no lock stops them)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def stored(url: str, **where: object) -> list[dict]:
    return AuditLog(url, Path("/nonexistent")).database.rows(**where)


def test_records_wait_while_the_database_is_locked_and_arrive_after(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit = AuditLog(url)
    audit.database.ready()
    with locked(tmp_path / "audit.db"):
        for number in range(50):
            audit.record(record(number))
        audit.flush()  # tried, and the database said no
    until(lambda: len(stored(url)) == 50, timeout=30)
    audit.close()
    assert sorted(r["input_rows"] for r in stored(url)) == list(range(50))
    assert not (tmp_path / "audit-spool" / "rejected.jsonl").exists()


def backlog() -> float:
    """``console_audit_backlog`` as a scrape reads it."""
    scrape = metrics.exposition(dict).decode()
    families = text_string_to_metric_families(scrape)
    return next(f for f in families if f.name == "console_audit_backlog").samples[0].value


def test_the_backlog_metric_says_what_waits_and_is_zero_once_stored(tmp_path):
    # Other consoles this test process made keep spools of their own: they count too, so
    # what this one adds is measured from where the gauge stood.
    before = backlog()
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit = AuditLog(url)
    audit.database.ready()
    with locked(tmp_path / "audit.db"):
        for number in range(7):
            audit.record(record(number))
        audit.flush()
        until(lambda: audit.sweep() and backlog() - before == 7, timeout=30)
    until(lambda: len(stored(url)) == 7, timeout=30)  # the writer sweeps again by itself
    until(lambda: audit.sweep() is not None and backlog() - before == 0, timeout=30)
    audit.close()


def test_one_refused_record_is_set_aside_not_the_others(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit = AuditLog(url)
    audit.database.ready()
    with audit.database.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_log WHEN NEW.user = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    with locked(tmp_path / "audit.db"):  # so that all of them meet in one batch
        for number in range(21):
            audit.record(record(number, "poison" if number == 10 else None))
    audit.close()
    assert len(stored(url)) == 20
    rejected = (tmp_path / "audit-spool" / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["user"] for line in rejected] == ["poison"]


@pytest.mark.slow
def test_long_and_nul_user_names_do_not_cost_other_records_on_postgres(tmp_path):
    with running_postgres() as url:
        audit = AuditLog(url, tmp_path / "spool")
        audit.record(record(0, "x" * 5000 + "\x00" + "y"))  # a failed sign-in's user name
        for number in range(1, 6):
            audit.record(record(number))
        audit.close()
        rows = stored(url)
    assert len(rows) == 6
    assert len(rows[0]["user"]) == 320 and "\x00" not in rows[0]["user"]


@pytest.mark.slow
def test_records_made_while_the_database_is_unreachable_arrive_when_it_is_back(tmp_path):
    port = pg_port()
    audit = AuditLog(postgres_url(port), tmp_path / "spool")
    for number in range(10):
        audit.record(record(number))  # never raises, although nothing listens yet
    audit.flush()
    with running_postgres(port) as url:
        until(lambda: len(_rows_or_empty(url)) == 10, timeout=30)
        audit.close()


def _rows_or_empty(url: str) -> list[dict]:
    try:
        return stored(url)
    except Exception:
        return []


@pytest.mark.slow
def test_a_killed_worker_loses_no_audit_record(tmp_path):
    """Twenty answers, then SIGKILL of the worker that gave them, while the database was
    locked (so none had reached it): the records were on disk before each answer."""
    port, data_dir = free_port(), tmp_path / "data"
    env = clean_environment(HOME=tmp_path, PORT=port, APP_DATA_DIR=data_dir, WEB_CONCURRENCY=1)
    with running([sys.executable, "app.py"], env, tmp_path / "server.log") as app:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/health", app)
        url = f"{base}/api/models/{IRIS_MODEL}/1/predict"
        assert requests.post(url, json=SETOSA, timeout=60).status_code == 200  # warm
        with locked(data_dir / "audit.db"):
            for _ in range(20):
                assert requests.post(url, json=SETOSA, timeout=60).status_code == 200
            (worker,) = psutil.Process(app.pid).children()
            os.kill(worker.pid, signal.SIGKILL)
        audit_url = f"sqlite:///{data_dir / 'audit.db'}"
        until(lambda: len(stored(audit_url, action="predict")) == 21, timeout=60)


def test_a_database_busy_while_a_job_runs_costs_no_result(settings, tmp_path):
    """A CSV job started from the page, the audit database (which holds the job records
    too) locked by another process for a few seconds while it runs: the job waits for it,
    its result is published, its record says so, and its audit record arrives."""
    data_dir = tmp_path / "data"
    audit_url = f"sqlite:///{data_dir / 'audit.db'}"
    configured = replace(
        settings, app_data_dir=data_dir, audit_db_url=audit_url, predict_chunk_rows=500
    )
    app = create_app(settings=configured)
    client = app.server.test_client()
    frame = churn_frame(20_000, seed=6)
    frame.insert(0, "id", np.arange(len(frame)))
    upload = client.post(
        "/api/uploads?filename=job.csv", data=frame.to_csv(index=False), content_type="text/csv"
    ).get_json()
    body = score_request(app, {"file_id": upload["file_id"], "filename": "job.csv"}, CHURN)
    answer = client.post(f"/_dash-update-component?endId={page_token(client)}", json=body)
    job = started_job(answer)
    assert job is not None, start_error(answer)
    until(lambda: client.get(f"/api/jobs/{job}").get_json()["state"] == "running", timeout=60)
    with locked(data_dir / "audit.db"):
        time.sleep(4)
    record = until(
        lambda: (r := client.get(f"/api/jobs/{job}").get_json())["state"] != "running" and r,
        timeout=120,
    )
    assert record["state"] == "succeeded", record
    assert record["summary"]["input_rows"] == 20_000
    assert client.get(f"/api/files/{record['result']['file_id']}").status_code == 200
    until(lambda: stored(audit_url, source=Source.CSV, action="predict"), timeout=60)


@pytest.mark.parametrize("fault", ["locked throughout", "not a database"])
def test_a_job_database_that_cannot_record_the_job_refuses_it_in_words(settings, tmp_path, fault):
    """Nothing can be recorded (a lock held throughout), or not even asked how many jobs the
    person runs (a file that is not a database), so nothing is started: Predict says why and
    what to do, never a 500, and the console keeps answering predictions (their audit
    records wait in the spool)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if fault == "not a database":
        (data_dir / "audit.db").write_bytes(b"not a database " * 100)
    audit_url = f"sqlite:///{data_dir / 'audit.db'}"
    app = create_app(settings=replace(settings, app_data_dir=data_dir, audit_db_url=audit_url))
    client = app.server.test_client()
    upload = client.post(
        "/api/uploads?filename=job.csv",
        data=churn_frame(50, seed=6).to_csv(index=False),
        content_type="text/csv",
    ).get_json()
    body = score_request(app, {"file_id": upload["file_id"], "filename": "job.csv"}, CHURN)
    if fault == "locked throughout":
        client.get("/api/jobs")  # the job table exists before the lock
    held = locked(data_dir / "audit.db") if fault == "locked throughout" else None
    with held or contextlib.nullcontext():
        answer = client.post(f"/_dash-update-component?endId={page_token(client)}", json=body)
        assert answer.status_code == 200
        assert started_job(answer) is None
        said = start_error(answer)
        assert "job database" in said and "nothing was started" in said, said
        predicted = client.post(f"/api/models/{IRIS_MODEL}/1/predict", json=SETOSA)
        assert predicted.status_code == 200
