"""A model's files stay its own: the console never fetches what the caller may not, a
description names only the model's own files, unused files are pruned, credentials in the
registry URI never reach an answer, and the operator's allow-list holds."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

from app import create_app, services_of
from services.access.caller import LOCAL_CALLER
from services.errors import PermissionDenied
from services.registry.demo import CHURN_MODEL, IRIS_MODEL
from services.registry.mlflow_server import inside, prune_model_files
from services.registry.records import own_file
from tests.conftest import SETOSA, auth, mlflow_basic_settings


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
