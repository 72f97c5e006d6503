"""Big-file paths through the HTTP API: streamed upload, size cap, per-user download, bad files."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from app import create_app, services_of
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.conftest import auth, mlflow_basic_settings

UPLOAD = "/api/uploads?filename={name}"


def upload(client, data: bytes, name: str = "customers.csv", **headers):
    return client.post(
        UPLOAD.format(name=name), data=data, content_type="text/csv", headers=headers
    )


def test_upload_then_download_the_scored_file(flask_app):
    client = flask_app.test_client()
    customers = churn_frame(3_000, seed=13)
    customers.insert(0, "customer_id", [f"K{i}" for i in range(3_000)])
    customers["tenure_months"] = customers["tenure_months"].astype(object)
    customers.loc[7, "tenure_months"] = "soon"
    response = upload(client, customers.to_csv(index=False).encode())
    assert response.status_code == 201
    stored = response.get_json()
    assert stored["filename"] == "customers.csv" and stored["size"] > 100_000
    scored = client.post(f"/api/models/{CHURN_MODEL}/Champion/score/{stored['file_id']}")
    assert scored.status_code == 200
    body = scored.get_json()
    assert (body["input_rows"], body["failed_rows"], body["version"]) == (3_000, 1, "1")
    download = client.get(f"/api/files/{body['result_file']['file_id']}")
    assert download.status_code == 200
    assert "customers_with_predictions.csv" in download.headers["Content-Disposition"]
    result = pd.read_csv(io.BytesIO(download.data))
    assert len(result) == 3_000
    assert result.loc[7, "error"] == 'tenure_months expects a whole number, got "soon"'
    assert pd.isna(result.loc[7, "prediction"]) and result["prediction"].notna().sum() == 2_999


def test_declared_size_over_the_cap_is_refused_before_reading(settings):
    from dataclasses import replace

    client = create_app(settings=replace(settings, upload_limit_bytes=1024)).server.test_client()
    response = client.post(
        UPLOAD.format(name="huge.csv"),
        data=b"x" * 10,
        content_type="text/csv",
        environ_overrides={"CONTENT_LENGTH": str(2 * 1024**3)},  # a 2 GB file announced
    )
    assert response.status_code == 413
    assert response.get_json()["error_code"] == "PAYLOAD_TOO_LARGE"
    streamed = upload(client, b"a,b\n" + b"1,2\n" * 1000)
    assert streamed.status_code == 413, streamed.get_json()
    assert "larger than the 1 KB" in streamed.get_json()["message"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"age,income\n", "has a header but no rows"),
        (b"age:income:city\n1:2:x\n", "Missing required columns"),
        ("age,city\n1,K\xf6ln\n".encode("latin-1"), "not UTF-8"),
        (b"age,income\n1,2\n3,4,5,6\n", "Expected 2 fields in line 3, saw 4"),
    ],
    ids=["header-only", "wrong-delimiter", "latin-1", "ragged"],
)
def test_bad_files_get_clear_messages(flask_app, content, words):
    from services.errors import ConsoleError

    client = flask_app.test_client()
    file_id = upload(client, content).get_json()["file_id"]
    files = services_of(flask_app).files
    with pytest.raises(ConsoleError) as error:
        files.check(LOCAL_CALLER, CHURN_MODEL, "1", file_id)
        files.score_upload(LOCAL_CALLER, CHURN_MODEL, "1", file_id)
    assert words in str(error.value)


def test_an_empty_upload_is_refused_and_nothing_is_kept(flask_app):
    area = services_of(flask_app).files.store._area(LOCAL_CALLER)
    before = sorted(area.iterdir())
    answer = upload(flask_app.test_client(), b"")
    assert answer.status_code == 400
    assert "The CSV file is empty" in answer.get_json()["message"]
    assert sorted(area.iterdir()) == before


def test_unknown_file_id_is_404_not_a_crash(client):
    for file_id in ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "nope"):
        assert client.get(f"/api/files/{file_id}").status_code in (400, 404)


@pytest.mark.slow
def test_another_users_file_cannot_be_downloaded(auth_server, tmp_path):
    app = create_app(settings=mlflow_basic_settings(auth_server, tmp_path))
    client = app.server.test_client()
    alice = upload(client, b"a,b\n1,2\n", **auth(auth_server, "alice"))
    file_id = alice.get_json()["file_id"]
    assert (
        client.get(f"/api/files/{file_id}", headers=auth(auth_server, "alice")).status_code == 200
    )
    stolen = client.get(f"/api/files/{file_id}", headers=auth(auth_server, "bob"))
    assert stolen.status_code == 404 and b"a,b" not in stolen.data
