"""Table jobs through the API against a real Spark Connect server (tests/spark_server.py):
files and paths scored on Spark by the console's own scoring path.

Not exercised here: a cluster on other machines and Databricks Connect with a user's token
(``SPARK_REMOTE=databricks``); the app and the server share this machine's filesystem."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from dash.testing.wait import until

from app import create_app, services_of
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

pytestmark = pytest.mark.slow
ROWS = 100_000


def iris_rows(rows: int, seed: int = 3) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    frame = pd.DataFrame(generator.uniform(0.1, 7.5, size=(rows, 4)), columns=IRIS_FEATURES)
    frame.insert(0, "row_id", np.arange(rows))
    return frame


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """A place the operator allows (SPARK_ALLOWED_LOCATIONS)."""
    return tmp_path_factory.mktemp("allowed")


@pytest.fixture(scope="module")
def spark_app(settings, spark_server, shared, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("spark-app")
    configured = replace(
        settings,
        app_data_dir=data_dir,
        spark_remote=spark_server.url,
        spark_allowed_locations=(str(shared),),
        predict_chunk_rows=20_000,
    )
    return create_app(settings=configured)


@pytest.fixture
def client(spark_app):
    return spark_app.server.test_client()


def finished(client, job_id: str, timeout: float = 240) -> dict:
    def done() -> dict | None:
        state = client.get(f"/api/jobs/{job_id}").get_json()
        return state if state["state"] in ("succeeded", "failed", "cancelled") else None

    return until(done, timeout=timeout, poll=0.5)


def expected(frame: pd.DataFrame, settings) -> np.ndarray:
    model = mlflow.pyfunc.load_model(f"models:/{IRIS_MODEL}/1")
    return np.asarray(model.predict(frame[IRIS_FEATURES]))


def test_parquet_of_100k_rows_scored_on_spark_equals_in_process_predict(
    client, spark_app, shared, settings
):
    frame = iris_rows(ROWS)
    frame.to_parquet(shared / "iris.parquet")
    body = {"source": str(shared / "iris.parquet"), "destination": str(shared / "iris-out"),
            "format": "parquet", "engine": "spark"}  # fmt: skip
    answer = client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=body)
    assert answer.status_code == 202, answer.get_json()
    state = finished(client, answer.get_json()["job_id"])
    assert state["state"] == "succeeded", state
    assert state["summary"]["input_rows"] == ROWS and state["summary"]["failed_rows"] == 0
    assert state["result"]["location"] == str(shared / "iris-out")
    result = pd.read_parquet(shared / "iris-out").sort_values("row_id").reset_index(drop=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    assert (result["prediction"].to_numpy() == expected(frame, settings)).all()
    assert result["error"].isna().all()
    audit = services_of(spark_app.server).audit.rows(action="score-table")
    assert audit[-1]["input_rows"] == ROWS and audit[-1]["outcome"] == "ok"
    assert audit[-1]["job_input"] == str(shared / "iris.parquet")
