"""A configuration problem stops the console once, with one line that says what is wrong and
what to do: from ``python app.py``, ``gunicorn app:server`` and the Celery worker alike, before
any worker boots. And a fresh worker answers its first requests, however many come at once."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import free_port
from tests.processes import PROJECT, clean_environment

APP_PY = [sys.executable, "app.py"]
GUNICORN = [sys.executable, "-m", "gunicorn", "app:server"]
CELERY = [sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--pool", "solo"]
STOPPED = "Cannot start the model console: "


def start(command: list[str], tmp_path: Path, **settings: object) -> str:
    """Run ``command`` until it stops by itself; its whole output."""
    defaults = {"APP_DATA_DIR": tmp_path / "data", "PORT": free_port(), "HOME": tmp_path}
    env = clean_environment(**{**defaults, **settings})
    finished = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=90
    )
    assert finished.returncode != 0, "started despite the problem"
    return finished.stdout + finished.stderr


def assert_one_clear_line(output: str, *words: str) -> None:
    lines = [line for line in output.splitlines() if STOPPED in line]
    assert len(lines) == 1, output
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in output
    assert "Booting worker" not in output  # stopped before any worker started


@pytest.mark.parametrize(
    "command", [APP_PY, GUNICORN, CELERY], ids=["app.py", "gunicorn", "celery"]
)
def test_unknown_auth_mode_stops_every_entry_point(command, tmp_path):
    output = start(command, tmp_path, APP_AUTH_MODE="ldap", REDIS_URL="redis://127.0.0.1:1/0")
    assert_one_clear_line(output, "APP_AUTH_MODE='ldap'", "none, mlflow-basic, databricks")


@pytest.mark.parametrize("command", [APP_PY, GUNICORN], ids=["app.py", "gunicorn"])
def test_data_dir_that_cannot_be_created(command, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    output = start(command, tmp_path, APP_DATA_DIR=blocker / "data")
    assert_one_clear_line(output, f"APP_DATA_DIR={blocker / 'data'}", "writable folder")


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"PORT": "80a"}, ("PORT='80a'", "port number")),
        ({"MODEL_CACHE_SIZE": "many"}, ("MODEL_CACHE_SIZE='many'", "whole number")),
        ({"JOB_SECRET_KEY": "short"}, ("JOB_SECRET_KEY", "32 characters")),
        (
            {"MLFLOW_TRACKING_URI": "sqlite:////no/such/folder/mlflow.db"},
            ("MLFLOW_TRACKING_URI", "/no/such/folder", "does not exist"),
        ),
        ({"APP_AUTH_MODE": "mlflow-basic"}, ("mlflow-basic", "MLFLOW_TRACKING_URI")),
        ({"APP_AUTH_MODE": "databricks"}, ("DATABRICKS_HOST",)),
        ({"FILES_MAX_AGE_HOURS": "0"}, ("FILES_MAX_AGE_HOURS must be at least 1",)),
    ],
    ids=[
        "port",
        "number",
        "secret",
        "sqlite-folder",
        "basic-without-server",
        "no-workspace",
        "files-age-zero",
    ],
)
def test_each_setting_problem_is_named(setting, words, tmp_path):
    assert_one_clear_line(start(APP_PY, tmp_path, **setting), *words)


def test_port_in_use(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        output = start(APP_PY, tmp_path, PORT=port)
    assert_one_clear_line(output, f"Port {port}", "in use")


def test_missing_package_is_named_with_the_fix(tmp_path):
    """A package the Celery workers need, gone from the environment (a shim that fails to
    import), with REDIS_URL set: named before anything starts."""
    shim = tmp_path / "shim" / "celery"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('not installed')\n")
    output = start(APP_PY, tmp_path, PYTHONPATH=shim.parent, REDIS_URL="redis://127.0.0.1:9/0")
    assert_one_clear_line(output, "celery is missing", "pip install -r requirements.txt")


def test_a_fresh_worker_serves_its_first_requests_all_at_once(settings):
    """A browser asks a fresh gunicorn worker for the bundles in parallel. Dash did its setup
    on the first of those requests, and served the others half set up (500 for React)."""
    page = create_app(settings=settings).server.test_client().get("/").get_data(as_text=True)
    bundles = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert [b for b in bundles if "react@" in b] and [b for b in bundles if "react-dom@" in b]
    fresh = create_app(settings=settings).server
    urls = [*bundles, "/_dash-layout", "/_dash-dependencies"] * 3
    start_together = threading.Barrier(len(urls))

    def fetch(url: str) -> int:
        client = fresh.test_client()
        start_together.wait()
        return client.get(url).status_code

    with ThreadPoolExecutor(len(urls)) as pool:
        statuses = dict(zip(urls, pool.map(fetch, urls), strict=True))
    assert statuses == dict.fromkeys(urls, 200)


def test_the_page_waits_for_no_package_only_a_feature_needs(registry_dir, tmp_path):
    """A worker serves the page once ``create_app`` returns: shap, numba, SciPy's statistics,
    Plotly's figure factory and pyspark come with the feature that needs them (each costs
    up to a second of every worker's start), and MLflow with the warm-up after it."""
    heavy = ["mlflow", "numba", "plotly.figure_factory", "pyspark", "scipy.stats", "shap"]
    probe = (
        "import sys; from app import create_app; create_app(); "
        f"print(sorted(set({heavy!r}) & set(sys.modules)))"
    )
    env = clean_environment(APP_DATA_DIR=registry_dir, HOME=tmp_path)
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "[]"
