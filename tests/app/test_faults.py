"""Faults from outside, with real processes and a real disk: the registry going away and
coming back, and the disk filling up while a result is written."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app, services_of
from services.access.caller import Caller
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.conftest import SETOSA, free_port, settings_for
from tests.processes import running
from tests.waiting import until

PREDICT = f"/api/models/{IRIS_MODEL}/1/predict"


@contextmanager
def mlflow_server(database: Path, port: int, log: Path) -> Iterator[None]:
    """``mlflow server`` over ``database`` on ``port``, until the block ends."""
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{database}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with running(command, os.environ, log, cwd=database.parent) as process:
        import requests

        def ready() -> bool:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
            except requests.RequestException:
                return False

        until(ready, timeout=90, poll=0.2)
        yield


@pytest.mark.slow
def test_the_registry_going_away_is_a_clear_503_and_its_return_needs_no_restart(
    registry_dir, tmp_path
):
    database = tmp_path / "registry.db"
    shutil.copy(registry_dir / "registry.db", database)  # its versions' files stay where they are
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    settings = settings_for(
        tmp_path / "data",
        tracking_uri=uri,
        registry_uri=uri,
        embedded_registry=False,
        alias_cache_seconds=0,
        metadata_cache_seconds=0,
    )
    client = create_app(settings=settings).server.test_client()
    answers: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def keep_predicting() -> None:  # a person pressing Predict all along
        while not stop.is_set():
            answer = client.post(PREDICT, json=SETOSA)
            answers.append((time.monotonic(), answer.status_code, answer.get_data(as_text=True)))

    with mlflow_server(database, port, tmp_path / "mlflow-1.log"):
        assert client.post(PREDICT, json=SETOSA).status_code == 200
        predicting = threading.Thread(target=keep_predicting)
        predicting.start()
        until(lambda: len(answers) > 5, timeout=30)
    gone = time.monotonic()  # the server is stopped, with requests in flight
    until(lambda: any(when > gone + 1 and status == 503 for when, status, _ in answers), timeout=60)
    with mlflow_server(database, port, tmp_path / "mlflow-2.log"):
        back = time.monotonic()
        until(lambda: any(when > back and status == 200 for when, status, _ in answers), timeout=60)
    stop.set()
    predicting.join(timeout=60)
    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 503}, statuses  # never a 500, never a hang
    refused = next(text for _, status, text in answers if status == 503)
    assert "Cannot reach the model registry" in refused and f"127.0.0.1:{port}" in refused


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path``: a disk that really fills up (root, as in CI)."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs (run as root): {mounted.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A file that takes all but ``leave`` bytes of the disk."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))
    return filler


@pytest.mark.slow
def test_a_full_disk_during_a_result_write(settings, tmp_path):
    """A clear 507, no half-written result published, nobody else's file touched, and the
    same request goes through once there is room again."""
    with small_disk(tmp_path / "disk", "6m") as disk:
        audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
        app = create_app(settings=replace(settings, app_data_dir=disk, audit_db_url=audit_url))
        services, client = services_of(app.server), app.server.test_client()
        bob = Caller(user="bob")
        bobs = services.files.store.save_stream(bob, "bobs.csv", io.BytesIO(b"a\n1\n"), 100)
        customers = churn_frame(20_000, seed=5).to_csv(index=False).encode()
        upload = client.post(
            "/api/uploads?filename=customers.csv", data=customers, content_type="text/csv"
        ).get_json()
        filler = fill(disk, leave=256 * 1024)
        score = f"/api/models/{CHURN_MODEL}/1/score/{upload['file_id']}"

        full = client.post(score)
        assert full.status_code == 507 and full.get_json()["error_code"] == "STORAGE_FULL"
        assert "disk is full" in full.get_json()["message"]
        files = list((disk / "files").rglob("*"))
        assert not [f for f in files if f.suffix == ".partial"]
        assert len([f for f in files if f.suffix == ".data"]) == 2  # the upload and bob's
        assert services.files.store.path(bob, bobs.file_id).read_bytes() == b"a\n1\n"
        assert client.post(PREDICT, json=SETOSA).status_code == 200  # still serving

        filler.unlink()
        again = client.post(score)
        assert again.status_code == 200, again.get_data(as_text=True)
        assert again.get_json()["input_rows"] == 20_000
        outcomes = [(r["outcome"], r["error_code"]) for r in services.audit.rows(model=CHURN_MODEL)]
        assert ("error", "STORAGE_FULL") in outcomes and ("ok", None) in outcomes
