"""Table jobs and who may touch them, and Spark going away mid-job, against real servers:
the MLflow basic-auth server (alice READ on X, bob nothing) and Spark Connect servers on
127.0.0.1. Not exercised: Databricks Connect built with a user's token (its branch in
services/spark/session.py needs databricks-connect and a workspace)."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace

import pytest
import requests

from app import create_app, services_of
from tests.conftest import SETOSA, auth, free_port, mlflow_basic_settings
from tests.services.spark.test_spark_jobs import finished, iris_rows
from tests.spark_server import running_spark_server
from tests.waiting import until

pytestmark = pytest.mark.slow


def _upload(client, server, user: str, rows: int = 2_000) -> str:
    answer = client.post(
        "/api/uploads?filename=mine.csv",
        data=iris_rows(rows).to_csv(index=False),
        content_type="text/csv",
        headers=auth(server, user),
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["file_id"]


def test_another_user_can_neither_see_poll_cancel_nor_download_the_job(
    auth_server, spark_server, tmp_path
):
    settings = replace(mlflow_basic_settings(auth_server, tmp_path), spark_remote=spark_server.url)
    client = create_app(settings=settings).server.test_client()
    model = auth_server.models["X"]
    alice, bob = auth(auth_server, "alice"), auth(auth_server, "bob")
    body = {"source": f"upload:{_upload(client, auth_server, 'alice')}", "format": "csv"}
    started = client.post(f"/api/models/{model}/1/jobs", json=body, headers=alice)
    assert started.status_code == 202, started.get_json()
    job_id = started.get_json()["job_id"]
    for method in (client.get, client.delete):
        refused = method(f"/api/jobs/{job_id}", headers=bob)
        assert refused.status_code == 404 and refused.get_json()["error_code"] == "JOB_NOT_FOUND"
    assert client.get("/api/jobs", headers=bob).get_json()["jobs"] == []

    def done() -> dict | None:
        state = client.get(f"/api/jobs/{job_id}", headers=alice).get_json()
        return state if state["state"] not in ("queued", "running") else None

    state = until(done, timeout=240, poll=0.5)
    assert state["state"] == "succeeded", state
    result = f"/api/files/{state['result']['file_id']}"
    assert client.get(result, headers=bob).status_code == 404
    assert client.get(result, headers=alice).status_code == 200
    assert client.get(f"/api/jobs/{job_id}", headers=bob).status_code == 404
    assert [job["job_id"] for job in client.get("/api/jobs", headers=alice).get_json()["jobs"]] == [
        job_id
    ]


def test_a_caller_without_read_on_the_model_is_refused_before_anything_is_shipped(
    auth_server, tmp_path
):
    """Spark here is a closed port: a refusal that reached Spark would be a 503, not a 403."""
    settings = replace(
        mlflow_basic_settings(auth_server, tmp_path), spark_remote=f"sc://127.0.0.1:{free_port()}"
    )
    app = create_app(settings=settings)
    client = app.server.test_client()
    body = {"source": f"upload:{_upload(client, auth_server, 'bob')}"}
    bob = auth(auth_server, "bob")
    refused = client.post(f"/api/models/{auth_server.models['X']}/1/jobs", json=body, headers=bob)
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["message"].startswith("Permission denied: bob cannot use")
    assert client.get("/api/jobs", headers=bob).get_json()["jobs"] == []
    denied = services_of(app.server).audit.rows(user="bob", outcome="denied")
    assert denied and not (tmp_path / "spark").exists()


def test_the_spark_server_killed_mid_job_gives_a_clear_failure_and_the_app_keeps_serving(
    settings, tmp_path
):
    with running_spark_server(tmp_path) as server:
        shared = tmp_path / "shared"
        parts = shared / "parts"
        parts.mkdir(parents=True)
        frame = iris_rows(2_000_000, seed=4)
        for number, start in enumerate(range(0, len(frame), 50_000)):
            frame.iloc[start : start + 50_000].to_parquet(parts / f"part-{number:03}.parquet")
        configured = replace(
            settings,
            app_data_dir=tmp_path / "app",
            spark_remote=server.url,
            spark_allowed_locations=(str(shared),),
        )
        client = create_app(settings=configured).server.test_client()
        body = {"source": str(parts), "destination": str(shared / "out")}
        job = client.post("/api/models/main.ml_models.iris_classifier/1/jobs", json=body)
        assert job.status_code == 202, job.get_json()
        job_id = job.get_json()["job_id"]

        def writing() -> bool:
            state = client.get(f"/api/jobs/{job_id}").get_json()
            running = state["state"] in ("queued", "running")
            return not running or state["progress"].get("parts_total", 0) >= 1

        until(writing, timeout=240, poll=0.3)
        server.stop()
        state = finished(client, job_id, timeout=90)
    assert state["state"] == "failed", state
    assert state["error"]["error_code"] == "SPARK_UNAVAILABLE", state["error"]
    assert "cannot be reached" in state["error"]["message"]
    assert not (shared / "out").exists()
    assert client.get("/api/health").status_code == 200
    answer = client.post("/api/models/main.ml_models.iris_classifier/1/predict", json=SETOSA)
    assert answer.status_code == 200 and answer.get_json()["predictions"] == [0]


def test_the_web_process_driving_a_spark_job_dies_and_its_job_is_failed_not_running(
    settings, spark_server, tmp_path
):
    """A Spark job's runner is the web process that took it (it drives the cluster). Killed
    with the job running (SIGKILL, as out-of-memory does), it cannot say anything: the next
    reader of the job, another process, finds its heartbeat stopped and fails it for good."""
    from tests.processes import clean_environment, running, wait_for

    shared = tmp_path / "shared"
    parts = shared / "parts"
    parts.mkdir(parents=True)
    frame = iris_rows(1_000_000, seed=6)
    for number, start in enumerate(range(0, len(frame), 50_000)):
        frame.iloc[start : start + 50_000].to_parquet(parts / f"part-{number:03}.parquet")
    port, data_dir = free_port(), tmp_path / "app"
    env = clean_environment(
        PORT=port,
        APP_DATA_DIR=data_dir,
        MLFLOW_TRACKING_URI=settings.tracking_uri,
        SPARK_REMOTE=spark_server.url,
        SPARK_ALLOWED_LOCATIONS=str(shared),
        JOB_LOST_SECONDS=3,
        WEB_CONCURRENCY=1,
    )
    base = f"http://127.0.0.1:{port}"
    with running([sys.executable, "app.py"], env, tmp_path / "app.log") as console:
        wait_for(f"{base}/api/health", console)
        body = {"source": str(parts), "destination": str(shared / "out"), "engine": "spark"}
        job = requests.post(
            f"{base}/api/models/main.ml_models.iris_classifier/1/jobs", json=body, timeout=60
        ).json()

        def driving() -> bool:
            state = requests.get(f"{base}/api/jobs/{job['job_id']}", timeout=10).json()
            return state["state"] == "running"

        until(driving, timeout=120, poll=0.2)
        os.killpg(console.pid, signal.SIGKILL)
        console.wait(timeout=30)
    reader = create_app(
        settings=replace(
            settings,
            app_data_dir=data_dir,
            spark_remote=spark_server.url,
            spark_allowed_locations=(str(shared),),
            job_lost_seconds=3,
        )
    ).server.test_client()
    state = until(
        lambda: (
            (s := reader.get(f"/api/jobs/{job['job_id']}").get_json())["state"] != "running" and s
        ),
        timeout=30,
        poll=0.5,
    )
    assert state["state"] == "failed" and state["error"]["error_code"] == "JOB_LOST", state
