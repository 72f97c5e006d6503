"""The JSON API through Flask's test client, on a real seeded registry."""

from __future__ import annotations

import io
from dataclasses import replace

import pandas as pd
import pytest

from app import create_app
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.conftest import SETOSA, VIRGINICA, free_port, settings_for
from tests.registry_models import NO_SIGNATURE_MODEL

PREDICT = f"/api/models/{IRIS_MODEL}/{{ref}}/predict"
SECRET_MARKER = "do-not-echo-7c1f"


def test_health(client):
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok"
    assert body["embedded_registry"] is True


def test_done_when_curl_example(client):
    response = client.post(PREDICT.format(ref="Champion"), json=SETOSA)
    assert response.status_code == 200
    body = response.get_json()
    assert body["predictions"] == [0]
    assert (body["version"], body["alias"], body["input_rows"]) == ("1", "Champion", 1)
    assert body["model"] == IRIS_MODEL and body["latency_ms"] > 0


def test_challenger_answers_with_version_two(client):
    body = client.post(PREDICT.format(ref="Challenger"), json=[SETOSA, VIRGINICA]).get_json()
    assert (body["version"], body["predictions"]) == ("2", [0, 2])


def test_alias_move_is_reflected_without_restart(settings, mlflow_client, restore_iris_aliases):
    client = create_app(settings=replace(settings, alias_cache_seconds=0)).server.test_client()
    assert client.post(PREDICT.format(ref="Champion"), json=SETOSA).get_json()["version"] == "1"
    mlflow_client.set_registered_model_alias(IRIS_MODEL, "Champion", "2")
    assert client.post(PREDICT.format(ref="Champion"), json=SETOSA).get_json()["version"] == "2"


def test_mlflow_scoring_format_with_probabilities(client):
    payload = {"dataframe_split": {"columns": list(SETOSA), "data": [list(SETOSA.values())]}}
    body = client.post(PREDICT.format(ref="1") + "?probabilities=true", json=payload).get_json()
    assert body["predictions"] == [0]
    assert body["probabilities"][0]["0"] > 0.9


def test_model_list_and_detail(client):
    names = [m["name"] for m in client.get("/api/models").get_json()["models"]]
    assert IRIS_MODEL in names and CHURN_MODEL in names
    detail = client.get(f"/api/models/{IRIS_MODEL}").get_json()
    assert detail["aliases"] == {"Champion": "1", "Challenger": "2"}
    assert [v["version"] for v in detail["versions"]] == ["2", "1"]


def test_version_detail_has_signature_and_example(client):
    body = client.get(f"/api/models/{IRIS_MODEL}/Champion").get_json()
    assert (body["version"], body["alias"]) == ("1", "Champion")
    assert [c["name"] for c in body["signature"]["inputs"]] == list(SETOSA)
    assert body["input_example"][0].keys() == SETOSA.keys()


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        (f"/api/models/{IRIS_MODEL}x/1/predict", {"json": SETOSA}, 404, "MODEL_NOT_FOUND"),
        (PREDICT.format(ref="42"), {"json": SETOSA}, 404, "VERSION_NOT_FOUND"),
        (PREDICT.format(ref="1"), {"json": {"sepal_length": 1}}, 400, "INVALID_SCHEMA"),
        (
            PREDICT.format(ref="1"),
            {"data": "{oops", "content_type": "application/json"},
            400,
            "INVALID_INPUT",
        ),
        (
            PREDICT.format(ref="1"),
            {"data": "<x/>", "content_type": "application/xml"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ("/api/models/nope", {}, 404, "MODEL_NOT_FOUND"),
        ("/api/models/../1/predict", {"json": SETOSA}, 400, "INVALID_INPUT"),
        ("/api/models/a%3Ab/1/predict", {"json": SETOSA}, 400, "INVALID_INPUT"),
        (PREDICT.format(ref=str(2**63)), {"json": SETOSA}, 404, "VERSION_NOT_FOUND"),
        (
            PREDICT.format(ref="1"),
            {"json": {**SETOSA, "sepal_length": 1.7e308}},
            422,
            "MODEL_REJECTED_INPUT",
        ),
        (
            f"/api/models/{NO_SIGNATURE_MODEL}/1/predict",
            {"json": SETOSA},
            422,
            "MODEL_REJECTED_INPUT",
        ),
        ("/api/no/such/route", {}, 404, "NOT_FOUND"),
    ],
)
def test_errors_are_json_with_code_and_message(client, path, kwargs, status, code):
    response = client.post(path, **kwargs) if "predict" in path else client.get(path)
    assert response.status_code == status
    body = response.get_json()
    assert body["error_code"] == code
    assert body["message"] and "Traceback" not in body["message"]
    assert "Error" not in body["message"] and "registry.db" not in body["message"]


def test_errors_never_echo_the_payload(client):
    bad = [{**SETOSA, "sepal_length": SECRET_MARKER * 3}]
    for response in (
        client.post(
            PREDICT.format(ref="1"), data=f'{{"{SECRET_MARKER}": ', mimetype="application/json"
        ),
        client.post(PREDICT.format(ref="1"), json={"dataframe_split": SECRET_MARKER}),
        client.post(PREDICT.format(ref="1"), json=bad),
    ):
        assert response.status_code == 400
        assert SECRET_MARKER * 3 not in response.get_data(as_text=True)


def test_oversized_body_is_refused_with_413(settings):
    small = create_app(settings=replace(settings, max_request_bytes=1024)).server.test_client()
    response = small.post(PREDICT.format(ref="1"), json=[SETOSA] * 100)
    assert response.status_code == 413
    assert response.get_json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_unreachable_registry_is_503_naming_the_uri(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    unreachable = settings_for(
        tmp_path, tracking_uri=uri, registry_uri=uri, embedded_registry=False
    )
    response = create_app(settings=unreachable).server.test_client().get("/api/models")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error_code"] == "REGISTRY_UNAVAILABLE" and uri in body["message"]


def test_csv_in_csv_out_keeps_columns_and_neutralises_formulas(client):
    customers = churn_frame(20, seed=4)
    customers.insert(0, "customer_id", [f"C{i}" for i in range(20)])
    customers["note"] = ["=1+1"] + ["ok"] * 19
    response = client.post(
        f"/api/models/{CHURN_MODEL}/Champion/predict",
        data=customers.to_csv(index=False),
        content_type="text/csv",
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    result = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert list(result.columns) == [*customers.columns, "prediction", "prediction_label", "error"]
    assert set(result["prediction_label"]) <= {"stays", "leaves"}  # the model's class names
    assert result["error"].isna().all() and response.headers["X-Failed-Rows"] == "0"
    assert result["customer_id"].tolist() == customers["customer_id"].tolist()
    assert result.loc[0, "note"] == "'=1+1"
    assert set(result["prediction"]) <= {0, 1}


def test_csv_missing_column_is_a_clear_400(client):
    response = client.post(
        f"/api/models/{CHURN_MODEL}/1/predict",
        data="age,income\n30,1000\n",
        content_type="text/csv",
    )
    assert response.status_code == 400
    assert "Missing required columns: tenure_months" in response.get_json()["message"]


def test_a_row_the_model_refuses_costs_that_row_not_the_file(client):
    """sklearn's trees take float32: a value beyond it is the model's refusal, of one row."""
    rows = pd.DataFrame([SETOSA, {**SETOSA, "sepal_length": 1.7e308}, VIRGINICA] * 40)
    response = client.post(
        PREDICT.format(ref="1"), data=rows.to_csv(index=False), content_type="text/csv"
    )
    assert response.status_code == 200 and response.headers["X-Failed-Rows"] == "40"
    result = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    refused = result["error"].notna()
    assert refused.tolist() == [False, True, False] * 40
    assert result.loc[refused, "error"].str.contains("too large for dtype").all()
    assert result.loc[~refused, "prediction"].tolist() == [0, 2] * 40


def test_the_runs_of_the_page_are_read_and_cleared_by_the_api(settings):
    """A JSON prediction in the page, then its run through GET /api/history, and gone after
    DELETE: the API and Prediction History read one store."""
    import json

    from tests.dash_requests import json_predict_request

    app = create_app(settings=settings)
    client = app.server.test_client()
    body = json_predict_request(app, VIRGINICA)
    assert client.post("/_dash-update-component", json=body).status_code == 200
    newest = client.get("/api/history").get_json()["runs"][0]
    assert (newest["source"], newest["outcome"], newest["preview"]) == (
        "JSON",
        "ok",
        "2 · virginica",
    )
    assert (newest["model"], newest["version"], newest["alias"]) == (IRIS_MODEL, "1", "Champion")
    assert json.loads(newest["input"]) == VIRGINICA
    assert client.delete("/api/history").get_json() == {"runs": []}
    assert client.get("/api/history").get_json() == {"runs": []}
