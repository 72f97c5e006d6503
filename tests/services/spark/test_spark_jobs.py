"""Table jobs through the API against a real Spark Connect server (tests/spark_server.py):
files and paths scored on Spark by the console's own scoring path.

Not exercised here: a cluster on other machines and Databricks Connect with a user's token
(``SPARK_REMOTE=databricks``); the app and the server share this machine's filesystem."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from app import create_app, services_of
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL
from tests.conftest import free_port
from tests.waiting import until

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
    body = {
        "source": str(shared / "iris.parquet"),
        "destination": str(shared / "iris-out"),
        "format": "parquet",
        "engine": "spark",
    }
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


def upload(client, frame: pd.DataFrame, name: str, **headers) -> str:
    answer = client.post(
        f"/api/uploads?filename={name}",
        data=frame.to_csv(index=False),
        content_type="text/csv",
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["file_id"]


def with_bad_cells(frame: pd.DataFrame) -> pd.DataFrame:
    bad = frame.astype({"sepal_width": object, "petal_length": object}).copy()
    bad["note"] = "ok"
    bad.loc[7, "sepal_width"] = "abc"
    bad.loc[11, "petal_length"] = ""
    bad.loc[13, "note"] = "=HYPERLINK(1)"
    return bad


def run_job(client, body: dict, **headers) -> dict:
    answer = client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=body, headers=headers)
    assert answer.status_code == 202, answer.get_json()
    return finished(client, answer.get_json()["job_id"])


def test_an_uploaded_csv_gives_the_same_result_on_spark_as_on_this_server(client, settings):
    """Bad cells cost their row (the same words), text a spreadsheet would run is
    neutralised, and the Spark result downloads from the user's own files."""
    frame = with_bad_cells(iris_rows(ROWS, seed=5))
    file_id = upload(client, frame, "flowers.csv")
    outcomes = {}
    for engine in ("spark", "local"):
        state = run_job(client, {"source": f"upload:{file_id}", "format": "csv", "engine": engine})
        assert state["state"] == "succeeded", str(state)[:3000]
        assert state["summary"]["input_rows"] == ROWS and state["summary"]["failed_rows"] == 2
        assert state["result"]["filename"] == "flowers_with_predictions.csv"
        download = client.get(f"/api/files/{state['result']['file_id']}")
        assert download.status_code == 200
        outcomes[engine] = pd.read_csv(io.BytesIO(download.data), dtype=str, keep_default_na=False)
    spark = outcomes["spark"].sort_values("row_id", key=lambda ids: ids.astype(int))
    spark = spark.reset_index(drop=True)
    pd.testing.assert_frame_equal(spark, outcomes["local"], check_dtype=False)
    assert spark.loc[spark["error"] != "", "row_id"].tolist() == ["7", "11"]
    assert "sepal_width" in spark.loc[7, "error"] and "abc" in spark.loc[7, "error"]
    assert spark.loc[7, "prediction"] == "" and spark.loc[13, "note"] == "'=HYPERLINK(1)"
    mlflow.set_tracking_uri(settings.tracking_uri)
    good = spark[spark["error"] == ""]
    scored = expected(
        frame.loc[good.index].astype({"sepal_width": float, "petal_length": float}), settings
    )
    assert (good["prediction"].astype(int).to_numpy() == scored).all()


def test_cancel_stops_the_job_and_publishes_nothing(client, shared):
    parts = shared / "many-parts"
    frame = iris_rows(2_000_000, seed=9)
    parts.mkdir()
    for number, start in enumerate(range(0, len(frame), 50_000)):
        frame.iloc[start : start + 50_000].to_parquet(parts / f"part-{number:03}.parquet")
    target = shared / "cancelled-out"
    body = {"source": str(parts), "destination": str(target), "format": "parquet"}
    job = client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=body).get_json()

    def writing() -> dict | None:
        state = client.get(f"/api/jobs/{job['job_id']}").get_json()
        started = state["progress"].get("parts_total", 0) >= 1  # the write has begun
        return state if started or state["state"] not in ("queued", "running") else None

    seen = until(writing, timeout=240, poll=0.3)
    assert seen["state"] == "running", (seen["progress"], seen["summary"])
    assert client.delete(f"/api/jobs/{job['job_id']}").status_code == 202
    state = finished(client, job["job_id"], timeout=60)
    assert state["state"] == "cancelled" and state["result"] is None, state
    assert not target.exists()


def test_a_location_outside_the_allowed_places_is_refused_before_any_spark_work(
    settings, tmp_path, shared
):
    """The Spark server here is a closed port: a refusal that needed Spark would be a 503."""
    app = create_app(
        settings=replace(
            settings,
            app_data_dir=tmp_path,
            spark_remote=f"sc://127.0.0.1:{free_port()}",
            spark_allowed_locations=(str(shared),),
        )
    )
    client = app.server.test_client()
    for body in (
        {"source": "/etc/passwd.csv"},
        {"source": f"{shared}/../elsewhere/x.parquet"},
        {"source": f"{shared}-other/x.parquet"},
        {"source": f"{shared}/x.parquet", "destination": "/tmp/out"},
        {"source": f"{shared}/x.parquet", "destination": "table:default.scores"},
    ):
        answer = client.post(f"/api/models/{IRIS_MODEL}/Champion/jobs", json=body)
        assert answer.status_code == 403, (body, answer.get_json())
        assert "outside the places" in answer.get_json()["message"]
    assert client.get("/api/jobs").get_json()["jobs"] == []


def test_wildcards_and_the_consoles_own_folder_are_refused_however_wide_the_prefix(
    settings, tmp_path
):
    """Spark expands ``{/..,x}`` in a read path (Hadoop's globbing), which climbed out of an
    allowed prefix; and a prefix as wide as the disk must not reach everyone's uploads or
    the audit log in APP_DATA_DIR."""
    data_dir = tmp_path / "data"
    app = create_app(
        settings=replace(
            settings,
            app_data_dir=data_dir,
            spark_remote=f"sc://127.0.0.1:{free_port()}",
            spark_allowed_locations=(str(tmp_path),),
        )
    )
    client = app.server.test_client()
    url = f"/api/models/{IRIS_MODEL}/Champion/jobs"
    for source in (
        f"{tmp_path}/allowed/{{/..,q}}/secret.parquet",
        f"{tmp_path}/*.parquet",
        f"{tmp_path}/part-[0-9].parquet",
    ):
        answer = client.post(url, json={"source": source})
        assert answer.status_code == 400, (source, answer.get_json())
        assert "wildcard" in answer.get_json()["message"]
    inside = {"source": f"{tmp_path}/in.parquet", "destination": f"{data_dir}/files/x"}
    for body in ({"source": f"{data_dir}/audit.db"}, inside):
        answer = client.post(url, json=body)
        assert answer.status_code == 403, (body, answer.get_json())
    assert client.get("/api/jobs").get_json()["jobs"] == []
