"""Jobs in a real Celery worker behind a real Redis (REDIS_URL set), as deployed when the web
workers should not do the scoring themselves.

The worker is another process that shares nothing with the web app but $APP_DATA_DIR (its
uploads and results, and the job and audit database) and Redis, so these tests show what a
process on the web server cannot: the job reaches the worker through Redis, its progress and
Cancel through the job's record, and it acts as the person who pressed Predict, with their
own permissions, because the caller arrives sealed from the web request.
"""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import redis

from app import create_app
from layouts.csv_tab import PANEL as CSV_PANEL
from layouts.ids import Config, Csv
from services.access.audit import AuditLog, Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.auth_server import AuthServer
from tests.browser_helpers import (
    cancel_job,
    click,
    download_result,
    job_result,
    open_tab,
    progress_rows,
    screenshot,
    start_console,
    upload_csv,
)
from tests.celery_worker import running_celery_worker, running_redis
from tests.conftest import auth, mlflow_basic_settings
from tests.dash_requests import page_token, score_request, start_error, started_job
from tests.waiting import until

pytestmark = pytest.mark.slow

ROWS = 150_000
CHUNK = 750  # small chunks: progress readings to watch, and time to cancel
KILLED_NOTICED_SECONDS = 8  # a killed pool process is noticed by its silent heartbeat


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _local_worker(redis_url: str, settings, data_dir: Path):
    """A worker for the one local user on the test registry, on Redis database ``redis_url``."""
    env = {
        "APP_DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "APP_AUTH_MODE": "none",
        "PREDICT_CHUNK_ROWS": str(CHUNK),
    }
    return running_celery_worker(redis_url, env, data_dir / "worker.log")


@pytest.fixture(scope="module")
def local_worker(redis_url, settings, tmp_path_factory) -> Iterator[tuple[str, Path, int]]:
    data_dir = tmp_path_factory.mktemp("celery-local")
    with _local_worker(f"{redis_url}/0", settings, data_dir) as worker:
        yield f"{redis_url}/0", data_dir, worker.pid


@pytest.fixture(scope="module")
def basic_worker(redis_url, auth_server: AuthServer, tmp_path_factory) -> Iterator[tuple]:
    """A worker for the MLflow basic-auth server: it has no credentials of its own."""
    data_dir = tmp_path_factory.mktemp("celery-basic")
    url = f"{redis_url}/1"
    env = {
        "APP_DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": auth_server.url,
        "APP_AUTH_MODE": "mlflow-basic",
    }
    with running_celery_worker(url, env, data_dir / "worker.log") as worker:
        yield url, data_dir, worker.pid


def _churn_file_in_the_csv_tab(dash_duo, settings, tmp_path, **overrides) -> pd.DataFrame:
    """The console on the churn model, its CSV tab showing an uploaded file of ROWS rows."""
    start_console(
        dash_duo, settings, default_model=CHURN_MODEL, default_version="Champion", **overrides
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    open_tab(dash_duo, "CSV Prediction")
    customers = churn_frame(ROWS, seed=23)
    customers.insert(0, "customer_id", np.arange(ROWS))
    source = tmp_path / "celery_customers.csv"
    customers.to_csv(source, index=False)
    upload_csv(dash_duo, source, ROWS)
    return customers


@pytest.mark.browser
def test_celery_worker_scores_with_progress_cancel_and_download(
    dash_duo, settings, local_worker, services, tmp_path
):
    redis, data_dir, worker = local_worker
    customers = _churn_file_in_the_csv_tab(
        dash_duo,
        settings,
        tmp_path,
        redis_url=redis,
        app_data_dir=data_dir,
        job_lost_seconds=KILLED_NOTICED_SECONDS,
    )

    # Cancel first: the worker stops the job and stays ready for the next one.
    click(dash_duo, f"#{Csv.PREDICT}")
    until(lambda: progress_rows(dash_duo) > 0, timeout=60)
    cancel_job(dash_duo)
    dash_duo.wait_for_contains_text(job_result(), "Cancelled: nothing was published", timeout=30)

    click(dash_duo, f"#{Csv.PREDICT}")
    first = until(lambda: progress_rows(dash_duo), timeout=60)
    until(lambda: progress_rows(dash_duo) > first, timeout=60)
    screenshot(dash_duo, "csv-celery-in-progress")
    dash_duo.wait_for_contains_text(job_result(), f"{ROWS:,} rows scored", timeout=120)
    result = pd.read_csv(download_result(dash_duo, "celery_customers_with_predictions.csv"))
    _, model = services.scoring.loader.load(LOCAL_CALLER, CHURN_MODEL, "Champion")
    expected = np.asarray(model.pyfunc.predict(customers.drop(columns=["customer_id"])))
    assert result["customer_id"].tolist() == customers["customer_id"].tolist()
    assert (result["prediction"].to_numpy() == expected).all()
    assert dash_duo.get_logs() == []

    audit = AuditLog(f"sqlite:///{data_dir / 'audit.db'}")
    scored = until(lambda: audit.rows(source=Source.CSV, outcome="ok"), timeout=30)
    assert [(row["user"], row["input_rows"]) for row in scored] == [("local user", ROWS)]

    # The process scoring the file is killed (what the kernel does when memory runs out):
    # the job is failed once its heartbeat is missed, and the page says so.
    click(dash_duo, f"#{Csv.PREDICT}")
    until(lambda: progress_rows(dash_duo) > 0, timeout=60)
    for pool_process in psutil.Process(worker).children():
        pool_process.send_signal(signal.SIGKILL)
    dash_duo.wait_for_contains_text(job_result(), "stopped before it finished", timeout=60)
    assert not dash_duo.find_elements(f"#{CSV_PANEL.live} .progress")


@pytest.mark.browser
def test_a_lost_celery_worker_is_reported_not_waited_on_forever(
    dash_duo, settings, redis_url, tmp_path
):
    """The whole worker goes (its machine, say): Celery never learns the task's fate. The
    job's heartbeat stops, and the job is reported failed instead of a spinner forever."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with _local_worker(f"{redis_url}/2", settings, data_dir) as worker:
        _churn_file_in_the_csv_tab(
            dash_duo,
            settings,
            tmp_path,
            redis_url=f"{redis_url}/2",
            app_data_dir=data_dir,
            job_lost_seconds=3,
        )
        click(dash_duo, f"#{Csv.PREDICT}")
        until(lambda: progress_rows(dash_duo) > 0, timeout=60)
        whole_worker = psutil.Process(worker.pid)
        for process in [*whole_worker.children(), whole_worker]:
            process.send_signal(signal.SIGKILL)
        dash_duo.wait_for_contains_text(job_result(), "stopped before it finished", timeout=30)
        assert "Start it again" in dash_duo.find_element(job_result()).text
        screenshot(dash_duo, "csv-celery-worker-lost")
    assert dash_duo.get_logs() == []


def _run_job(client, app, headers: dict[str, str], file_id: str, model: str) -> dict:
    """Press Predict from CSV as the holder of ``headers``; the job's record once it ends
    (or the refusal's words when it could not start)."""
    selection = {"name": model, "ref": "Champion", "version": "1", "alias": "Champion"}
    body = score_request(app, {"file_id": file_id, "filename": "iris.csv"}, selection)
    url = f"/_dash-update-component?endId={page_token(client, headers)}"
    answer = client.post(url, json=body, headers=headers)
    job = started_job(answer)
    if job is None:
        return {"state": "refused", "said": start_error(answer)}

    def ended() -> dict | None:
        record = client.get(f"/api/jobs/{job}", headers=headers).get_json()
        return record if record["state"] not in ("queued", "running") else None

    return until(ended, timeout=90)


def _upload(client, headers: dict[str, str], rows: int) -> str:
    frame = pd.DataFrame(
        np.random.default_rng(5).uniform(0.5, 7.0, size=(rows, 4)),
        columns=["sepal_length", "sepal_width", "petal_length", "petal_width"],
    )
    frame.insert(0, "flower", np.arange(rows))
    reply = client.post(
        "/api/uploads?filename=iris.csv",
        data=frame.to_csv(index=False),
        content_type="text/csv",
        headers=headers,
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.get_json()["file_id"]


def test_celery_job_acts_as_the_person_who_pressed_predict(auth_server, basic_worker):
    """alice may load model X: her job scores it and the result is hers alone. bob may not:
    his is refused before anything is queued. The worker holds no credentials, so it can only
    have used the ones sealed from alice's request."""
    redis, data_dir, _ = basic_worker
    settings = replace(mlflow_basic_settings(auth_server, data_dir), redis_url=redis)
    app = create_app(settings=settings)
    client = app.server.test_client()
    alice, bob = auth(auth_server, "alice"), auth(auth_server, "bob")
    model = auth_server.models["X"]

    record = _run_job(client, app, alice, _upload(client, alice, 500), model)
    assert record["state"] == "succeeded" and record["runner"] == "celery", record
    assert record["summary"]["input_rows"] == 500
    result_id = record["result"]["files"]["csv"]["file_id"]
    download = client.get(f"/api/files/{result_id}", headers=alice)
    assert download.status_code == 200
    assert len(download.get_data(as_text=True).strip().splitlines()) == 501
    assert client.get(f"/api/files/{result_id}", headers=bob).status_code == 404
    assert client.get(f"/api/jobs/{record['job_id']}", headers=bob).status_code == 404

    refused = _run_job(client, app, bob, _upload(client, bob, 20), model)
    assert refused["state"] == "refused" and "Permission denied" in refused["said"]
    assert client.get("/api/jobs", headers=bob).get_json()["jobs"] == []

    audit = AuditLog(f"sqlite:///{data_dir / 'audit.db'}")
    wanted = {("alice", "ok"), ("bob", "denied")}
    until(lambda: {(r["user"], r["outcome"]) for r in audit.rows(source=Source.CSV)} == wanted, 30)


def test_the_job_message_in_redis_carries_no_readable_credentials(auth_server, redis_url, tmp_path):
    """What waits in Redis for a worker is the job's id and its caller sealed: no password,
    token or cookie in the clear. No worker listens on this database: the message stays."""
    url = f"{redis_url}/3"
    app = create_app(settings=replace(mlflow_basic_settings(auth_server, tmp_path), redis_url=url))
    client = app.server.test_client()
    alice = auth(auth_server, "alice")
    selection = {"name": auth_server.models["X"], "ref": "Champion", "version": "1"}
    body = score_request(
        app, {"file_id": _upload(client, alice, 10), "filename": "i.csv"}, selection
    )
    headers = {**alice, "Cookie": "session=cookie-secret-value"}
    page = page_token(client, alice)
    answer = client.post(f"/_dash-update-component?endId={page}", json=body, headers=headers)
    job = started_job(answer)
    assert job is not None, start_error(answer)

    (queued,) = redis.Redis.from_url(url).lrange("celery", 0, -1)
    message = json.loads(queued)
    text = queued.decode() + base64.b64decode(message["body"]).decode()
    basic_token = alice["Authorization"].split()[1]
    for secret in (auth_server.passwords["alice"], basic_token, "cookie-secret-value"):
        assert secret not in text
    assert "authorization" not in text.lower() and "alice" not in text
    args = json.loads(base64.b64decode(message["body"]))[0]
    assert args[0] == job and args[1].startswith("gAAAA")  # the caller travels sealed
