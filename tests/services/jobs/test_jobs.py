"""The job contract, held by every runner: a clean process on this server, a thread of it
(small files), a real Celery worker behind a real Redis, and Spark (a real Spark Connect
server; this process drives it).

Each runner takes the same job through the API, as a person's script would: it runs to a
result the owner can download, Cancel stops it with nothing published, its record says
where it stands at every moment (the one record in the audit database), and it writes one
audit record. A runner that dies marks its job failed, never "running" for ever.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from flask.testing import FlaskClient

from app import create_app, services_of
from services.jobs.runners import CANCEL_GRACE_SECONDS
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL
from tests.celery_worker import running_celery_worker, running_redis
from tests.waiting import until

pytestmark = pytest.mark.slow
ROWS = 60_000
CHUNK = 2_000  # small chunks: many progress reports, and a cancel is seen between two
LOST_SECONDS = 3
FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Console:
    runner: str
    client: FlaskClient
    data_dir: Path
    engine: str
    worker: psutil.Process | None = None

    def start(self, file_id: str, **body) -> dict:
        request = {"source": f"upload:{file_id}", "engine": self.engine, "format": "csv", **body}
        answer = self.client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=request)
        assert answer.status_code == 202, answer.get_json()
        return answer.get_json()

    def job(self, job_id: str) -> dict:
        return self.client.get(f"/api/jobs/{job_id}").get_json()

    def until_state(self, job_id: str, states: tuple[str, ...], timeout: float = 120) -> dict:
        def reached() -> dict | None:
            job = self.job(job_id)
            return job if job["state"] in states else None

        return until(reached, timeout=timeout, poll=0.2)

    def upload(self, rows: int, seed: int = 3) -> tuple[str, pd.DataFrame]:
        frame = pd.DataFrame(
            np.random.default_rng(seed).uniform(0.1, 7.5, size=(rows, 4)), columns=IRIS_FEATURES
        )
        frame.insert(0, "row_id", np.arange(rows))
        answer = self.client.post(
            "/api/uploads?filename=iris.csv",
            data=frame.to_csv(index=False),
            content_type="text/csv",
        )
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["file_id"], frame


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _settings(settings, data_dir: Path, **extra):
    values = {
        "app_data_dir": data_dir,
        "predict_chunk_rows": CHUNK,
        "job_lost_seconds": LOST_SECONDS,
        "jobs_per_user": 3,
        "inline_job_bytes": 0,  # each runner as itself
        **extra,
    }
    return replace(settings, **values)


@pytest.fixture(scope="module", params=["process", "inline", "celery", "spark"])
def console(request, settings, tmp_path_factory) -> Iterator[Console]:
    data_dir = tmp_path_factory.mktemp(f"jobs-{request.param}")
    if request.param in ("process", "inline"):
        inline = 2**40 if request.param == "inline" else 0
        app = create_app(settings=_settings(settings, data_dir, inline_job_bytes=inline))
        yield Console(request.param, app.server.test_client(), data_dir, "local")
    elif request.param == "spark":
        spark = request.getfixturevalue("spark_server")
        app = create_app(settings=_settings(settings, data_dir, spark_remote=spark.url))
        yield Console("spark", app.server.test_client(), data_dir, "spark")
    else:
        redis = f"{request.getfixturevalue('redis_url')}/4"
        env = {
            "APP_DATA_DIR": str(data_dir),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "APP_AUTH_MODE": "none",
            "PREDICT_CHUNK_ROWS": str(CHUNK),
            "JOB_LOST_SECONDS": str(LOST_SECONDS),
        }
        with running_celery_worker(redis, env, data_dir / "worker.log") as worker:
            app = create_app(settings=_settings(settings, data_dir, redis_url=redis))
            client = app.server.test_client()
            yield Console("celery", client, data_dir, "local", psutil.Process(worker.pid))


def _published(data_dir: Path) -> list[Path]:
    """Result files in the users' areas (uploads have no ``_with_predictions`` name)."""
    return [
        p
        for p in (data_dir / "files").glob("*/*.name")
        if "_with_predictions" in p.read_text() or p.read_text().endswith(".parquet")
    ]


def test_a_job_runs_to_a_result_only_its_owner_downloads(console):
    file_id, frame = console.upload(5_000)
    started = console.start(file_id)
    assert started["state"] == "queued" and started["source_name"] == "iris.csv"
    seen = console.until_state(started["job_id"], ("running", *FINAL))
    assert seen["state"] in ("running", "succeeded")
    done = console.until_state(started["job_id"], FINAL)
    assert done["state"] == "succeeded", done
    assert done["runner"] == console.runner
    assert done["summary"]["input_rows"] == 5_000 and done["summary"]["failed_rows"] == 0
    assert done["progress"]["percent"] == 100
    download = console.client.get(f"/api/files/{done['result']['file_id']}")
    scored = pd.read_csv(pd.io.common.BytesIO(download.data))
    assert scored["row_id"].tolist() == frame["row_id"].tolist()
    assert scored["prediction"].notna().all()
    listed = console.client.get("/api/jobs").get_json()["jobs"]
    assert started["job_id"] in [job["job_id"] for job in listed]
    audit = services_of(console.client.application).audit

    def recorded() -> list | None:  # the runner's process stores it as it ends
        rows = [r for r in audit.rows(action="score-table") if r["input_rows"] == 5_000]
        return rows or None

    records = until(recorded, timeout=30)
    assert [(r["outcome"], r["version"]) for r in records] == [("ok", "1")]


def test_cancel_stops_the_job_and_publishes_nothing(console):
    file_id, _ = console.upload(ROWS * 4, seed=4)  # seconds of work even for a thread here
    before = set(_published(console.data_dir))
    started = console.start(file_id)
    console.until_state(started["job_id"], ("running",))
    asked = console.client.delete(f"/api/jobs/{started['job_id']}")
    assert asked.status_code == 202
    done = console.until_state(started["job_id"], FINAL, timeout=60)
    assert done["state"] == "cancelled", done
    assert set(_published(console.data_dir)) == before
    assert not list((console.data_dir / "files").glob("*/*.partial"))


@pytest.mark.parametrize("console", ["process", "celery"], indirect=True)
def test_a_runner_that_dies_fails_its_job(console):
    """The process scoring the job is killed (what the kernel does when memory runs out):
    the job says so, instead of "running" for ever. (Spark's runner is the web process
    itself: tests/services/spark/test_spark_faults.py kills that one.)"""
    file_id, _ = console.upload(ROWS * 3, seed=5)
    started = console.start(file_id)
    console.until_state(started["job_id"], ("running",))
    victims = _job_processes(console)
    assert victims, "no process is running the job"
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
    done = console.until_state(started["job_id"], FINAL, timeout=LOST_SECONDS + 30)
    assert done["state"] == "failed" and done["error"]["error_code"] == "JOB_LOST", done
    assert "Nothing was published" in done["error"]["message"]


@pytest.mark.parametrize("console", ["process"], indirect=True)
def test_a_job_that_cannot_hear_its_cancel_is_stopped_and_cancelled(console):
    """Its process is frozen (a model stuck in native code hears nothing): Cancel still
    ends it as cancelled, not as failed or lost, and the process is stopped hard."""
    file_id, _ = console.upload(ROWS * 3, seed=6)
    started = console.start(file_id)
    console.until_state(started["job_id"], ("running",))
    frozen = _job_processes(console)
    assert frozen, "no process is running the job"
    for process in frozen:
        process.suspend()
    assert console.client.delete(f"/api/jobs/{started['job_id']}").status_code == 202
    done = console.until_state(started["job_id"], FINAL, timeout=60)
    assert done["state"] == "cancelled" and done["error"] is None, done
    until(lambda: not any(_alive(p) for p in frozen), timeout=CANCEL_GRACE_SECONDS + 30)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _job_processes(console: Console) -> list[psutil.Process]:
    if console.runner == "celery":
        assert console.worker is not None
        return console.worker.children()
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if "model-console-job" in " ".join(_cmdline(p)) or _is_job(p)
    ]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _is_job(process: psutil.Process) -> bool:
    """A child of the fork server (jobs are its only children)."""
    try:
        parent = process.parent()
        return parent is not None and "forkserver" in " ".join(parent.cmdline())
    except psutil.Error:
        return False


def test_another_user_finds_no_job(settings, tmp_path):
    """A job id leads nowhere for anyone but its owner: not found, as an id that never was;
    it cannot be cancelled, listed or downloaded by them."""
    from services.access.caller import Caller

    services = services_of(create_app(settings=_settings(settings, tmp_path)).server)
    alice, bob = Caller("alice", mode="none"), Caller("bob", mode="none")
    frame = pd.DataFrame(np.ones((10, 4)), columns=IRIS_FEATURES)
    stored = services.files.store.save_stream(
        alice, "a.csv", pd.io.common.BytesIO(frame.to_csv(index=False).encode()), 10**6
    )
    job = services.jobs.submit(
        alice, IRIS_MODEL, "1", {"source": f"upload:{stored.file_id}", "engine": "local"}, "api"
    )
    with pytest.raises(Exception) as seen:
        services.jobs.get(bob, job.job_id)
    assert getattr(seen.value, "error_code", "") == "JOB_NOT_FOUND"
    with pytest.raises(Exception) as cancelled:
        services.jobs.cancel(bob, job.job_id)
    assert getattr(cancelled.value, "error_code", "") == "JOB_NOT_FOUND"
    assert services.jobs.list(bob) == []
    done = until(lambda: services.jobs.get(alice, job.job_id).done, timeout=60)
    assert done
    assert services.jobs.get(alice, job.job_id).state == "succeeded"


def test_one_quota_for_every_kind_of_job(settings, tmp_path):
    app = create_app(settings=replace(_settings(settings, tmp_path), jobs_per_user=1))
    client = app.server.test_client()
    console = Console("process", client, tmp_path, "local")
    file_id, _ = console.upload(ROWS * 2)
    first = console.start(file_id)
    refused = client.post(
        f"/api/models/{IRIS_MODEL}/Champion/jobs",
        json={"kind": "compare", "source": f"upload:{file_id}", "compare_with": ["Challenger"]},
    )
    assert refused.status_code == 429 and refused.get_json()["error_code"] == "TOO_MANY_JOBS"
    client.delete(f"/api/jobs/{first['job_id']}")
    console.until_state(first["job_id"], FINAL)
    again = client.post(
        f"/api/models/{IRIS_MODEL}/Champion/jobs",
        json={"kind": "compare", "source": f"upload:{file_id}", "compare_with": ["Challenger"]},
    )
    assert again.status_code == 202, again.get_json()
    done = console.until_state(again.get_json()["job_id"], FINAL)
    assert done["state"] == "succeeded", done
    assert done["result"]["rows"] == ROWS * 2 and 0 < done["result"]["agreement"] <= 1


def test_a_record_whose_heartbeat_stopped_is_failed_once_for_every_reader(settings, tmp_path):
    """A web process that dies with a job running leaves its record "running": the next
    reader (any process) finds it silent for JOB_LOST_SECONDS and fails it for good."""
    from services.jobs.record import RUNNING, Job, new_job_id

    services = services_of(create_app(settings=_settings(settings, tmp_path)).server)
    store = services.jobs.store
    job = Job(
        job_id=new_job_id(),
        owner="local user",
        kind="score",
        origin="api",
        model=IRIS_MODEL,
        ref="1",
        version="1",
        alias=None,
        engine="spark",
        source="/data/x.parquet",
        destination="mine",
        format="csv",
        state=RUNNING,
        updated=time.time() - LOST_SECONDS - 1,
    )
    store.insert(job)
    failed = store.load("local user", job.job_id)
    assert failed.state == "failed" and failed.error["error_code"] == "JOB_LOST"
    assert store.load_any(job.job_id).state == "failed"


def test_job_records_live_in_the_audit_database_on_postgresql(settings, tmp_path):
    """AUDIT_DB_URL on a real PostgreSQL: two consoles (two replicas) share the jobs: one
    starts a job, the other lists it, reads it and cancels it; the rows are in PostgreSQL."""
    import sqlalchemy

    from tests.postgres_server import running_postgres

    with running_postgres() as url:
        shared = tmp_path / "shared"  # the replicas share the users' files, as they must
        first = create_app(settings=_settings(settings, shared, audit_db_url=url))
        second = create_app(settings=_settings(settings, shared, audit_db_url=url))
        one = Console("process", first.server.test_client(), shared, "local")
        other = Console("process", second.server.test_client(), shared, "local")
        file_id, _ = one.upload(ROWS * 2)
        started = one.start(file_id)
        seen = other.until_state(started["job_id"], ("running",))
        assert seen["source_name"] == "iris.csv"
        assert [j["job_id"] for j in other.client.get("/api/jobs").get_json()["jobs"]] == [
            started["job_id"]
        ]
        assert other.client.delete(f"/api/jobs/{started['job_id']}").status_code == 202
        done = one.until_state(started["job_id"], FINAL, timeout=60)
        assert done["state"] == "cancelled", done
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text("SELECT job_id, state, owner FROM console_jobs")
            ).all()
        engine.dispose()
        assert [tuple(row) for row in rows] == [(started["job_id"], "cancelled", "local user")]
