"""Findings of the security read, each with the test that failed before its fix: the
console's own credentials are never lent to a caller, a model's files stay its own, work
per user is bounded, and numbers are never silently changed."""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from dash.testing.wait import until

from app import create_app, services_of
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.errors import PermissionDenied
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from services.registry.mlflow_server import inside, prune_model_files
from services.registry.records import own_file
from tests.conftest import SETOSA, auth, mlflow_basic_settings
from tests.dash_requests import page_token, score_request, start_error, started_job
from tests.processes import job_processes

CHURN = {"name": CHURN_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}


@pytest.mark.slow
def test_files_the_caller_cannot_fetch_are_never_fetched_with_the_consoles_credentials(
    auth_server, tmp_path
):
    """A model version whose files are in a bucket (not behind the server's artifact proxy):
    READ on the model must not make the console fetch them with its own credentials."""
    from mlflow import MlflowClient

    from tests.auth_server import _admin_mlflow_session

    name = "test.auth.elsewhere"
    with _admin_mlflow_session(auth_server.url, auth_server.admin):
        client = MlflowClient(auth_server.url, auth_server.url)
        client.create_registered_model(name)
        client.create_model_version(name, source="s3://someone-elses-bucket/models/m")
    auth_server.grant("alice", "registered_model", name)
    app = create_app(settings=mlflow_basic_settings(auth_server, tmp_path))
    answer = app.server.test_client().post(
        f"/api/models/{name}/1/predict", json=SETOSA, headers=auth(auth_server, "alice")
    )
    assert answer.status_code == 403
    assert "could read only with its own credentials" in answer.get_json()["message"]


def test_a_models_description_cannot_name_files_outside_its_own(services, tmp_path):
    """MLmodel's saved_input_example_info.artifact_path is the model owner's to write."""
    assert not own_file("../../secret.json") and not own_file("/etc/passwd")
    assert not own_file("a/../../b") and own_file("input_example.json")
    root = tmp_path / "model"
    root.mkdir()
    with pytest.raises(PermissionDenied):
        inside(root, "../outside.json")
    assert inside(root, "input_example.json") == (root / "input_example.json").resolve()
    registry = services.registry.registry_for(LOCAL_CALLER)
    resolved = services.registry.resolve(LOCAL_CALLER, IRIS_MODEL, "1")
    with pytest.raises(PermissionDenied, match="outside its own files"):
        registry.download(resolved, "../../../../registry.db")


def test_unused_model_files_are_pruned(tmp_path):
    old, fresh = tmp_path / "old", tmp_path / "fresh"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / ".complete").touch()
    two_days_ago = time.time() - 2 * 86400
    os.utime(old / ".complete", (two_days_ago, two_days_ago))
    prune_model_files(tmp_path, keep_seconds=86400)
    assert not old.exists() and fresh.exists()


def test_each_persons_area_has_a_quota(settings, tmp_path):
    small = replace(settings, app_data_dir=tmp_path, user_quota_bytes=20_000)
    client = create_app(settings=small).server.test_client()
    first = client.post(
        "/api/uploads?filename=a.csv", data=b"a,b\n" + b"1,2\n" * 3000, content_type="text/csv"
    )
    assert first.status_code == 201
    second = client.post(
        "/api/uploads?filename=b.csv", data=b"a,b\n" + b"1,2\n" * 3000, content_type="text/csv"
    )
    assert second.status_code == 507 and second.get_json()["error_code"] == "QUOTA_EXCEEDED"
    assert len(list((tmp_path / "files").glob("*/*.data"))) == 1  # nothing half-written kept


def test_a_flood_of_job_requests_makes_no_processes(settings, tmp_path):
    """Forged Predict-from-CSV requests beyond JOBS_PER_USER are answered at once, without
    a job or a process being made for them; one quota for every kind of job."""
    limited = replace(settings, app_data_dir=tmp_path, jobs_per_user=1, predict_chunk_rows=2000)
    app = create_app(settings=limited)
    client = app.server.test_client()
    frame = churn_frame(100_000, seed=1)
    upload = client.post(
        "/api/uploads?filename=big.csv", data=frame.to_csv(index=False), content_type="text/csv"
    ).get_json()
    body = score_request(app, {"file_id": upload["file_id"], "filename": "big.csv"}, CHURN)
    url = f"/_dash-update-component?endId={page_token(client)}"
    first = started_job(client.post(url, json=body))
    assert first is not None
    for _ in range(10):
        answer = client.post(url, json=body)
        assert started_job(answer) is None
        assert "You already have 1 job running" in start_error(answer)
    assert len(job_processes()) <= 1
    assert [j["job_id"] for j in client.get("/api/jobs").get_json()["jobs"]] == [first]
    until(lambda: client.get(f"/api/jobs/{first}").get_json()["state"] == "succeeded", timeout=120)
    assert started_job(client.post(url, json=body)) is not None  # one at a time is fine


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("age", 1e29, "too large"), ("age", 2**63, "too large"), ("age", -(2**64), "too large")],
)
def test_numbers_too_large_for_the_column_are_refused_not_wrapped(services, column, value, words):
    from services.errors import SchemaMismatch

    customer = churn_frame(1, seed=1).to_dict("records")[0] | {column: value}
    with pytest.raises(SchemaMismatch, match=words):
        services.scoring.predict(LOCAL_CALLER, CHURN_MODEL, "1", customer, source=Source.API)


def test_infinite_and_too_large_csv_cells_cost_their_row_only(client):
    customers = churn_frame(6, seed=2).astype({"income": object, "age": object})
    customers.loc[1, "income"] = "inf"
    customers.loc[2, "age"] = "99999999999999999999"
    answer = client.post(
        f"/api/models/{CHURN_MODEL}/1/predict",
        data=customers.to_csv(index=False),
        content_type="text/csv",
    )
    assert answer.status_code == 200 and answer.headers["X-Failed-Rows"] == "2"
    result = pd.read_csv(io.BytesIO(answer.data), dtype=str, keep_default_na=False)
    assert result.loc[1, "error"] == 'income expects a finite number, got "inf"'
    assert result.loc[2, "error"].startswith("age expects a whole number that fits")
    assert (result["error"] == "").sum() == 4


def test_int32_columns_are_checked_against_their_range():
    from services.errors import SchemaMismatch
    from services.registry.signature import ColumnInfo, SignatureInfo
    from services.scoring.payload import ModelInput
    from services.scoring.validation import conform

    signature = SignatureInfo(columns=[ColumnInfo("n", "integer", True)], present=True)
    with pytest.raises(SchemaMismatch, match="too large"):
        conform(ModelInput(pd.DataFrame({"n": [3_000_000_000]})), signature)
    assert conform(ModelInput(pd.DataFrame({"n": [7]})), signature).data["n"].dtype == np.int32


def test_credentials_in_the_registry_uri_never_reach_an_answer(tmp_path):
    """An operator may put user:password in MLFLOW_TRACKING_URI; a registry that is down must
    not show them to whoever asks."""
    from services.errors import RegistryUnavailable
    from services.registry.mlflow_server import ProxiedFiles
    from tests.conftest import free_port, settings_for

    uri = f"http://ops:s3cret@127.0.0.1:{free_port()}"
    app = create_app(
        settings=settings_for(tmp_path, tracking_uri=uri, registry_uri=uri, embedded_registry=False)
    )
    client = app.server.test_client()
    for answer in (
        client.get("/api/models"),
        client.post(f"/api/models/{IRIS_MODEL}/1/predict", json=SETOSA),
    ):
        assert answer.status_code == 503
        assert "127.0.0.1" in answer.get_json()["message"]
        assert "s3cret" not in answer.get_data(as_text=True)
    files = ProxiedFiles(uri, LOCAL_CALLER, tmp_path / "files")
    with pytest.raises(RegistryUnavailable) as refused:
        files.check_access(None, "mlflow-artifacts:/1/models/m/artifacts")
    assert "s3cret" not in str(refused.value) and "127.0.0.1" in str(refused.value)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\x00", " "])
def test_job_and_file_references_match_whole_not_up_to_a_newline(services, suffix):
    """``re.match`` with ``$`` accepted a trailing newline, which then reached a file name."""
    from services.errors import FileGone
    from services.jobs.record import JobNotFound

    reference = "0123456789abcdef" * 2
    with pytest.raises(JobNotFound):
        services.jobs.get(LOCAL_CALLER, reference + suffix)
    with pytest.raises(JobNotFound):
        services.jobs.get(LOCAL_CALLER, reference[:-1] + suffix)
    with pytest.raises(FileGone):
        services.files.store.path(LOCAL_CALLER, reference + suffix)


def test_models_outside_the_operators_allow_list_are_never_loaded(settings, tmp_path):
    """MODEL_ALLOW: loading a model runs its code here, so an operator can say whose."""
    allowing = replace(settings, app_data_dir=tmp_path, model_allow=("main.ml_models.iris_*",))
    app = create_app(settings=allowing)
    client = app.server.test_client()
    listed = [m["name"] for m in client.get("/api/models").get_json()["models"]]
    assert IRIS_MODEL in listed and CHURN_MODEL not in listed
    for answer in (
        client.post(f"/api/models/{CHURN_MODEL}/1/predict", json=[{"age": 1}]),
        client.get(f"/api/models/{CHURN_MODEL}"),
        client.get(f"/api/models/{CHURN_MODEL}/Champion"),
    ):
        assert answer.status_code == 403
        assert answer.get_json()["error_code"] == "MODEL_NOT_ALLOWED"
        assert "main.ml_models.iris_*" in answer.get_json()["message"]
    services = services_of(app.server)
    assert services.models.stats.loads == 0
    assert client.post(f"/api/models/{IRIS_MODEL}/1/predict", json=SETOSA).status_code == 200
    refused = services.audit.rows(model=CHURN_MODEL)
    assert refused and {r["error_code"] for r in refused} == {"MODEL_NOT_ALLOWED"}
