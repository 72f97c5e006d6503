"""The three ways the console runs: standalone server, gunicorn, mounted in a host Flask app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import psutil
import pytest
import requests
from flask import Flask

from app import create_app
from services.access.audit import AuditLog
from services.registry.demo import IRIS_MODEL
from services.startup import listen_address
from tests.conftest import SETOSA, free_port
from tests.processes import PROJECT, job_servers, stop_process_group, wait_for


def test_mounted_in_a_host_flask_app_under_a_prefix(settings):
    host = Flask("host")

    @host.get("/")
    def home() -> str:
        return "host home"

    create_app(host, url_base_pathname="/console/", settings=settings)
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "host home"
    page = client.get("/console/")
    assert page.status_code == 200 and "Model Console" in page.get_data(as_text=True)
    predicted = client.post(f"/console/api/models/{IRIS_MODEL}/1/predict", json=SETOSA)
    assert predicted.get_json()["predictions"] == [0]
    assert client.get("/api/health").status_code == 404  # nothing leaks outside the prefix


def test_two_consoles_in_one_process_both_answer(settings):
    first = create_app(settings=settings).server.test_client()
    second = create_app(settings=settings).server.test_client()
    for client in (first, second):
        assert client.get("/").status_code == 200
        assert client.get("/_dash-layout").status_code == 200
        assert client.get("/api/health").get_json()["status"] == "ok"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("127.0.0.1", 8050)),
        ({"PORT": "9000"}, ("127.0.0.1", 9000)),
        ({"PORT": "9000", "DATABRICKS_APP_PORT": "8000"}, ("0.0.0.0", 8000)),
        ({"DATABRICKS_APP_PORT": "8000", "HOST": "127.0.0.1"}, ("127.0.0.1", 8000)),
    ],
)
def test_listen_address(monkeypatch, env, expected):
    for name in ("PORT", "DATABRICKS_APP_PORT", "HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert listen_address() == expected


@pytest.mark.slow
def test_python_app_py_serves_with_gunicorn_on_a_fresh_data_dir(tmp_path):
    """README command 1 in miniature: a fresh APP_DATA_DIR is seeded, gunicorn serves the API."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "APP_DATA_DIR": str(tmp_path / "data")}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/api/health", process).json()["status"] == "ok"
        url = f"{base}/api/models/{IRIS_MODEL}/Champion/predict"
        body = requests.post(url, json=SETOSA, timeout=60).json()
        assert (body["predictions"], body["version"]) == ([0], "1")
        challenger = requests.post(url.replace("Champion", "Challenger"), json=SETOSA, timeout=60)
        assert challenger.json()["version"] == "2"
        assert "gunicorn" in (tmp_path / "server.log").read_text().lower()
        assert app_job_servers(process) == []  # a job server holds a worker's memory: not idle
        header = b"sepal_length,sepal_width,petal_length,petal_width\n"
        upload(base, "few.csv", header + b"5.1,3.5,1.4,0.2\n")  # scored in the web process
        time.sleep(3)
        assert app_job_servers(process) == []
        upload(base, "many.csv", header + b"5.1,3.5,1.4,0.2\n" * 150_000)  # over 2 MB
        deadline = time.monotonic() + 60
        while not app_job_servers(process) and time.monotonic() < deadline:
            time.sleep(0.2)
        (job_server,) = app_job_servers(process)  # a file for a job of its own arrived
        assert stop_as_a_container_does(process, base) < 10  # gunicorn's graceful wait: 30 s
        job_server.wait(timeout=20)  # it follows its worker: nothing left behind
    finally:
        stop_process_group(process)
        log.close()
    audit = AuditLog(f"sqlite:///{tmp_path / 'data' / 'audit.db'}")
    versions = sorted(row["version"] for row in audit.rows(action="predict", outcome="ok"))
    assert versions == ["1", "2"]  # written by the workers, kept through a normal shutdown


def stop_as_a_container_does(process: subprocess.Popen, base: str) -> float:
    """Seconds from SIGTERM to the master alone (as ``docker stop`` and Databricks Apps send
    it) until the app exited, while a client holds an idle kept-alive connection, as a
    browser with the console open does."""
    with requests.Session() as browser:
        assert browser.get(f"{base}/api/health", timeout=10).ok
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)
        return time.monotonic() - sent


def upload(base: str, name: str, body: bytes) -> None:
    answer = requests.post(
        f"{base}/api/uploads?filename={name}",
        data=body,
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text


def app_job_servers(process: subprocess.Popen) -> list[psutil.Process]:
    return job_servers(psutil.Process(process.pid), recursive=True)


@pytest.mark.parametrize("prefix", ["/", "/console/"])
def test_only_the_consoles_own_paths_answer(settings, prefix):
    """The page at the prefix (with any query), its assets and Dash's routes, the API and the
    metrics (when on); any other path is 404, not the page with 200."""
    host = Flask("host")
    create_app(host, url_base_pathname=prefix, settings=replace(settings, metrics_enabled=True))
    client = host.test_client()
    for path in (
        "",
        "?tab=json&model=x",
        "_dash-layout",
        "assets/console.js",
        "api/health",
        "api/openapi.json",
        "api/docs",
        "metrics",
    ):
        assert client.get(prefix + path).status_code == 200, path
    for path in ("docs", "swagger", "openapi.json", "models/x", "a/b/c", "index.html"):
        answer = client.get(prefix + path)
        assert answer.status_code == 404, path
        assert "Model Console" not in answer.get_data(as_text=True)
