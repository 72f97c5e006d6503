"""A fresh data directory: gunicorn's master seeds the embedded registry in a process of its
own while the first worker boots, the others after it. The page answers meanwhile; anything
that needs the registry waits for the seeding, never sees it empty or half seeded; a seeding
that fails stops the console once, with one line; a seeded directory is not seeded again."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from services.access.caller import LOCAL_CALLER
from services.errors import RegistryUnavailable
from services.registry.demo import CHURN_MODEL, HOUSE_PRICE_MODEL, IRIS_MODEL
from services.registry.factory import SharedRegistry
from services.registry.seed_marks import SEEDED_MARK
from services.registry.seeding import lock_for_seeding
from tests.app.test_startup import APP_PY, STOPPED
from tests.conftest import free_port, settings_for
from tests.processes import PROJECT, clean_environment, running, wait_for

pytestmark = pytest.mark.slow
PREDICT = f"/api/models/{IRIS_MODEL}/Champion/predict"
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
SEEDING_STARTED = "Seeding the demo registry in process"
FIRST_REQUESTS = 6


def environment(tmp_path: Path, data_dir: Path, port: int) -> dict[str, str]:
    return clean_environment(APP_DATA_DIR=data_dir, PORT=port, HOME=tmp_path)


def predict(base: str) -> tuple[int, object]:
    answer = requests.post(base + PREDICT, json=SETOSA, timeout=120)
    return answer.status_code, answer.json().get("predictions")


def models(base: str) -> tuple[int, object]:
    answer = requests.get(base + "/api/models", timeout=120)
    return answer.status_code, sorted(m["name"] for m in answer.json().get("models", []))


def test_fresh_data_dir_serves_the_page_while_seeding_and_predictions_wait(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with running(APP_PY, environment(tmp_path, data_dir, port), log) as app:
        assert wait_for(f"{base}/", app).status_code == 200
        # Sent at once, to the one worker that serves while the seeding runs: every one
        # waits for it, none sees the registry empty (404), half seeded, or in the middle of
        # its schema's migration.
        with ThreadPoolExecutor(FIRST_REQUESTS + 2) as pool:
            predictions = [pool.submit(predict, base) for _ in range(FIRST_REQUESTS)]
            listings = [pool.submit(models, base) for _ in range(2)]
            assert [p.result() for p in predictions] == [(200, [0])] * FIRST_REQUESTS
            everything = sorted([CHURN_MODEL, HOUSE_PRICE_MODEL, IRIS_MODEL])
            assert [m.result() for m in listings] == [(200, everything)] * 2
    output = log.read_text()
    # Before, the master seeded first and forked its workers only then.
    assert output.index("Booting worker") < output.index("Demo registry ready"), output
    # The first worker served the page meanwhile; the second booted after the seeding, not
    # beside it (three processes importing the same libraries on a few CPUs).
    assert output.index('"GET / HTTP') < output.index("Demo registry ready"), output
    assert output.index("Demo registry ready") < output.index("starts now: the seeding has ended")
    assert SEEDING_STARTED in output and "Traceback" not in output
    # MLflow's warnings about the demo's own choices (cloudpickle, integer columns)
    assert "cloudpickle" not in output and "integer column" not in output, output


def test_a_seeding_that_fails_stops_the_console_once_with_one_line(tmp_path):
    """A registry.db that is not a database: MLflow cannot open it to seed."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "registry.db").write_bytes(b"not a database\n" * 400)
    env = environment(tmp_path, data_dir, free_port())
    started = time.monotonic()
    finished = subprocess.run(
        APP_PY, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=90
    )
    took = time.monotonic() - started
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output
    lines = [line for line in finished.stderr.splitlines() if STOPPED in line]
    assert len(lines) == 1, output
    assert str(data_dir) in lines[0] and "file is not a database" in lines[0], lines[0]
    assert "Traceback" not in output
    assert output.count("Booting worker") <= 2, output  # the first two, never another
    assert took < 60, output  # and the workers of the stopped master are gone too


def test_a_seeded_data_dir_is_not_seeded_again(tmp_path):
    data_dir = tmp_path / "data"
    outputs = []
    for start in ("fresh", "seeded"):
        port, log = free_port(), tmp_path / f"{start}.log"
        with running(APP_PY, environment(tmp_path, data_dir, port), log) as app:
            base = f"http://127.0.0.1:{port}"
            assert wait_for(f"{base}/", app).status_code == 200
            assert predict(base) == (200, [0])
        outputs.append(log.read_text())
        if start == "fresh":
            mark = (data_dir / SEEDED_MARK).stat()
            database = (data_dir / "registry.db").stat()
    first, second = outputs
    assert SEEDING_STARTED in first and "Seeding demo model" in first
    assert SEEDING_STARTED not in second and "Seeding demo model" not in second, second
    assert (data_dir / SEEDED_MARK).stat().st_mtime_ns == mark.st_mtime_ns
    assert (data_dir / "registry.db").stat().st_ino == database.st_ino


def test_the_registry_waits_for_the_seeding_lock_and_names_a_failed_seeding(tmp_path):
    """What a worker's request does while another process holds the lock, and after that
    process ended without leaving the mark (it failed)."""
    settings = settings_for(tmp_path / "data")
    lock = lock_for_seeding(settings.app_data_dir)
    outcome: list[BaseException] = []

    def first_use() -> None:
        try:
            SharedRegistry(settings)(LOCAL_CALLER)
        except RegistryUnavailable as error:
            outcome.append(error)

    waiting = threading.Thread(target=first_use)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive(), "did not wait for the seeding"
    with pytest.raises(RegistryUnavailable, match="still being added"):
        SharedRegistry(settings, seeding_wait=0.2)(LOCAL_CALLER)
    os.close(lock)  # the seeder ends without a mark
    waiting.join(10)
    assert not waiting.is_alive()
    assert len(outcome) == 1 and "could not be added" in str(outcome[0])
