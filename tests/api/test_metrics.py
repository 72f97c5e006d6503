"""Prometheus metrics: counted per route template, model and resolved version, in one process
and added up across real gunicorn workers; who may read them; off when asked."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from services.registry.demo import IRIS_MODEL
from services.settings import ConfigurationError, embedded_tracking_uri, networks
from services.startup import check_configuration
from tests.code_models import fresh_registry, register_code_model
from tests.conftest import SETOSA, free_port
from tests.processes import clean_environment, running, wait_for
from tests.services.scoring.test_model_load_errors import ECHO_CODE, damage, register_linear_model
from tests.waiting import until

PREDICT_ROUTE = "/api/models/<name>/<ref>/predict"
ECHO = "test.metrics.echo"
DAMAGED = "test.metrics.damaged"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples(text).items() if n == name and wanted <= got)


@pytest.fixture
def metered(settings):
    return replace(settings, metrics_enabled=True)


@pytest.fixture
def client(metered):
    return create_app(settings=metered).server.test_client()


def test_a_prediction_is_counted_by_route_model_and_resolved_version(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        answer = client.post(f"/api/models/{IRIS_MODEL}/Champion/predict", json=SETOSA)
        assert answer.status_code == 200
    missing = client.post("/api/models/main.ml_models.nothing_here/1/predict", json=SETOSA)
    assert missing.status_code == 404
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.mimetype == "text/plain"
    after = scrape.get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    served = {"route": PREDICT_ROUTE, "model": IRIS_MODEL, "version": "1"}  # not "Champion"
    assert grew("console_http_requests_total", status="200", method="POST", **served) == 3
    assert grew("console_http_request_duration_seconds_count", **served) == 3
    assert grew("console_http_request_errors_total", route=PREDICT_ROUTE, status="404") == 1
    assert grew("console_http_request_errors_total", **served) == 0
    assert grew("console_predict_rows_count", model=IRIS_MODEL, version="1") == 3
    assert grew("console_predict_rows_sum", model=IRIS_MODEL, version="1") == 3  # one row each
    assert grew("console_model_cache_events_total", event="hit") >= 2  # loaded once at most
    assert "# TYPE console_jobs gauge" in after and "# TYPE console_audit_backlog gauge" in after


def test_jobs_are_counted_by_kind_and_state(client):
    rows = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
    uploaded = client.post("/api/uploads?filename=one.csv", data=rows, content_type="text/csv")
    request = {"source": f"upload:{uploaded.get_json()['file_id']}", "format": "csv"}
    before = value(client.get("/metrics").text, "console_jobs", kind="score", state="succeeded")
    started = client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=request)
    assert started.status_code == 202, started.get_json()
    job_url = f"/api/jobs/{started.get_json()['job_id']}"
    until(lambda: client.get(job_url).get_json()["state"] == "succeeded", timeout=60)
    scrape = client.get("/metrics").text
    assert value(scrape, "console_jobs", kind="score", state="succeeded") == before + 1


def test_audit_records_made_and_stored_are_counted(client):
    def totals() -> tuple[float, float]:
        scrape = client.get("/metrics").text
        return (
            value(scrape, "console_audit_records_made_total"),
            value(scrape, "console_audit_records_stored_total"),
        )

    made, stored = totals()
    assert client.post(f"/api/models/{IRIS_MODEL}/Champion/predict", json=SETOSA).status_code == 200
    until(lambda: totals()[1] - stored >= 1, timeout=30)  # the writer stores it a moment later
    assert totals()[0] - made >= 1


def test_a_prediction_in_the_json_tab_is_counted_with_its_model(metered):
    """The page's predictions go through Dash's callback route: labelled by the model too."""
    from tests.dash_requests import json_predict_request

    app = create_app(settings=metered)
    client = app.server.test_client()
    body = json_predict_request(app, SETOSA)
    labels = {"route": "/_dash-update-component", "model": IRIS_MODEL, "version": "1"}
    before = value(client.get("/metrics").text, "console_http_requests_total", **labels)
    answer = client.post("/_dash-update-component", json=body)
    assert '\\"predictions\\": [0]' in answer.get_data(as_text=True)
    after = value(client.get("/metrics").text, "console_http_requests_total", **labels)
    assert after - before == 1


def test_a_token_keeps_the_metrics_to_the_scraper(metered):
    client = create_app(settings=replace(metered, metrics_token="t" * 32)).server.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"X-Metrics-Token": "wrong"}).status_code == 403
    scrape = client.get("/metrics", headers={"X-Metrics-Token": "t" * 32})
    assert scrape.status_code == 200 and "console_http_requests_total" in scrape.text


def test_metrics_are_off_unless_asked_for(settings):
    client = create_app(settings=settings).server.test_client()  # METRICS_ENABLED unset
    answer = client.get("/metrics")
    assert answer.status_code == 404
    assert "console_http_requests" not in answer.get_data(as_text=True)


def test_only_the_allowed_addresses_may_scrape(metered):
    def scrape(allowed: str, address: str) -> int:
        networks_ = networks("METRICS_ALLOWED", allowed)
        client = create_app(settings=replace(metered, metrics_allowed=networks_)).server
        return client.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert scrape("127.0.0.1", "127.0.0.1").status_code == 200
    assert scrape("10.0.0.0/8, ::1", "10.2.3.4").status_code == 200
    assert scrape("10.0.0.0/8", "::ffff:10.2.3.4").status_code == 200  # a dual-stack socket
    refused = scrape("10.0.0.0/8", "192.168.1.5")
    assert refused.status_code == 403 and "METRICS_ALLOWED" in refused.text
    with pytest.raises(ConfigurationError, match=re.escape("METRICS_ALLOWED='10.0.0.300'")):
        networks("METRICS_ALLOWED", "10.0.0.300")


def test_a_shared_mode_needs_a_token_to_serve_metrics(settings):
    shared = replace(settings, auth_mode="databricks", databricks_host="https://example.invalid")
    with pytest.raises(ConfigurationError, match="METRICS_TOKEN"):
        check_configuration(replace(shared, metrics_enabled=True))
    check_configuration(replace(shared, metrics_enabled=False))
    check_configuration(replace(shared, metrics_enabled=True, metrics_token="t" * 32))


@pytest.fixture(scope="module")
def metrics_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small registry: a model that answers (x * 2) and one whose files are damaged."""
    data_dir = tmp_path_factory.mktemp("metrics-registry")
    with fresh_registry(data_dir) as registry:
        register_code_model(registry, ECHO, ECHO_CODE)
        register_linear_model(registry, DAMAGED)
        from tests.code_models import version_folder

        damage(version_folder(registry, DAMAGED, "1"))
    return data_dir


@pytest.mark.slow
def test_gunicorn_workers_add_up_their_counts(metrics_registry, tmp_path):
    """Two real gunicorn workers answer predictions; whichever answers a scrape reports
    them all. A count left by an earlier run is gone."""
    data_dir = tmp_path / "data"
    stale = data_dir / "prometheus" / "counter_999999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    port = free_port()
    uri = embedded_tracking_uri(metrics_registry)
    env = clean_environment(
        PORT=port,
        APP_DATA_DIR=data_dir,
        MLFLOW_TRACKING_URI=uri,
        WEB_CONCURRENCY=2,
        GUNICORN_THREADS=4,
        METRICS_ENABLED="true",
    )
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:server"]
    with running(command, env, tmp_path / "gunicorn.log") as process:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/api/health", process).status_code == 200
        assert not stale.exists()

        def predict(x: float) -> requests.Response:
            url = f"{base}/api/models/{ECHO}/1/predict"
            return requests.post(url, json={"x": x}, headers={"Connection": "close"}, timeout=60)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(predict, [float(i) for i in range(24)]))
        assert [a.json()["predictions"] for a in answers] == [[2.0 * i] for i in range(24)]
        for _ in range(2):
            damaged = requests.post(f"{base}/api/models/{DAMAGED}/1/predict", json={"x": 1.0})
            assert damaged.status_code >= 400

        counted = {"route": PREDICT_ROUTE, "model": ECHO, "version": "1", "status": "200"}
        pids = {p.name.split("_")[-1] for p in (data_dir / "prometheus").glob("counter_*.db")}
        assert len(pids) >= 2, pids  # both workers counted
        for _ in range(6):  # each scrape on a new connection: answered by either worker
            scrape = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30)
            text = scrape.text
            assert value(text, "console_http_requests_total", **counted) == 24
            assert value(text, "console_http_request_duration_seconds_count", model=ECHO) == 24
            failures = value(text, "console_model_load_failures_total", model=DAMAGED)
            assert failures >= 1  # the second may be answered from the remembered failure
            assert value(text, "console_http_request_errors_total", model=DAMAGED) == 2
        # The audit log agrees: every prediction counted is a record stored, in both workers.
        until(lambda: audited_predictions(data_dir / "audit.db", ECHO) == 24, timeout=60)
        text = scrape_once(base)
        assert value(text, "console_predict_rows_count", model=ECHO) == 24
        assert value(text, "console_audit_records_made_total") >= 24
        until(lambda: value(scrape_once(base), "console_audit_records_stored_total") >= 24, 30)
    assert os.path.isdir(data_dir / "prometheus")


def scrape_once(base: str) -> str:
    return requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30).text


def audited_predictions(database: Path, model: str) -> int:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        query = "SELECT count(*) FROM audit_log WHERE model = ? AND outcome = 'ok'"
        return connection.execute(query, (model,)).fetchone()[0]
