"""Compare and split against a real MLflow basic-auth server: each version is checked for
the caller on its own. Model Z (made here) has version 1 from X's files (alice may read
them) and version 2 from Y's files (she may not), and alice has READ on Z."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from app import create_app, services_of
from services.monitor.split import SPLIT_TAG, parse_split
from tests.auth_server import _admin_mlflow_session
from tests.conftest import SETOSA, auth, mlflow_basic_settings

pytestmark = pytest.mark.slow

MODEL_Z = "test.auth.model_z"


@pytest.fixture(scope="module")
def model_z(auth_server) -> Iterator[str]:
    """A model of the shared auth server made for this module, and deleted after it: other
    modules list the server's models and expect only their own."""
    from mlflow import MlflowClient

    with _admin_mlflow_session(auth_server.url, auth_server.admin):
        client = MlflowClient(tracking_uri=auth_server.url, registry_uri=auth_server.url)
        client.create_registered_model(MODEL_Z)
        for key in ("X", "Y"):
            source = client.get_model_version(auth_server.models[key], "1")
            model_id = source.model_id or source.source.rsplit("/", 1)[-1]
            client.create_model_version(
                MODEL_Z, source=source.source, run_id=source.run_id, model_id=model_id
            )
        client.set_registered_model_tag(MODEL_Z, SPLIT_TAG, "1:50,2:50")
    auth_server.grant("alice", "registered_model", MODEL_Z)
    yield MODEL_Z
    with _admin_mlflow_session(auth_server.url, auth_server.admin):
        MlflowClient(
            tracking_uri=auth_server.url, registry_uri=auth_server.url
        ).delete_registered_model(MODEL_Z)


@pytest.fixture(scope="module")
def console(auth_server, model_z, tmp_path_factory):
    settings = mlflow_basic_settings(auth_server, tmp_path_factory.mktemp("compare-auth"))
    return create_app(settings=replace(settings, alias_cache_seconds=0))


def test_a_version_the_caller_may_not_read_stops_the_comparison(console, auth_server, model_z):
    client = console.server.test_client()
    response = client.post(
        f"/api/models/{model_z}/compare?refs=1,2", json=SETOSA, headers=auth(auth_server, "alice")
    )
    assert response.status_code == 403
    body = response.get_json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert body["message"].startswith(f"Cannot compare: you may not use 2 of {model_z}.")
    records = services_of(console.server).audit.rows(model=model_z, action="compare")
    assert [(r["version"], r["outcome"]) for r in records][-1:] == [("2", "denied")]


def test_the_admin_compares_both_and_each_is_audited(console, auth_server, model_z):
    client = console.server.test_client()
    response = client.post(
        f"/api/models/{model_z}/compare?refs=1,2",
        json=[SETOSA, SETOSA],
        headers=auth(auth_server, auth_server.admin[0]),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == {"1": [0, 0], "2": [0, 0]}
    records = services_of(console.server).audit.rows(model=model_z, action="compare")
    ok = [(r["user"], r["version"], r["input_rows"]) for r in records if r["outcome"] == "ok"]
    assert ok[-2:] == [("admin", "1", 2), ("admin", "2", 2)]


def test_a_split_arm_the_caller_may_not_read_is_a_clear_403_and_the_other_arm_answers(
    console, auth_server, model_z
):
    split = parse_split(model_z, "1:50,2:50")
    keys = {
        arm: next(f"k{i}" for i in range(1000) if split.arm_for(f"k{i}").ref == arm)
        for arm in ("1", "2")
    }
    client = console.server.test_client()
    url = f"/api/models/{model_z}/split/predict"

    def as_alice(key: str):
        headers = auth(auth_server, "alice", **{"X-Request-Key": key})
        return client.post(url, json=SETOSA, headers=headers)

    allowed = as_alice(keys["1"])
    assert allowed.status_code == 200 and allowed.get_json()["arm"] == "1"
    refused = as_alice(keys["2"])
    assert refused.status_code == 403
    assert refused.get_json()["message"].startswith(
        f"The traffic split of {model_z} sent this request to arm 2, which you may not use."
    )
    records = services_of(console.server).audit.rows(model=model_z, action="split-predict")
    assert [(r["arm"], r["outcome"]) for r in records[-2:]] == [("1", "ok"), ("2", "denied")]
