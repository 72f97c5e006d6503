"""The alias and split routes against the real MLflow basic-auth server, each user with their
own credentials. Model P is made here (both versions from X's files, which alice may read),
alice has EDIT on it, bob READ; two app instances on one data dir stand for two workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from app import create_app, services_of
from services.access.caller import MODE_MLFLOW_BASIC, Caller
from services.monitor.split import SPLIT_TAG
from tests.auth_server import _admin_mlflow_session
from tests.conftest import auth, mlflow_basic_settings

pytestmark = pytest.mark.slow

MODEL_P = "test.auth.model_p"


@pytest.fixture(scope="module")
def model_p(auth_server) -> Iterator[str]:
    """Made for this module and deleted after it: other modules list the server's models."""
    from mlflow import MlflowClient

    with _admin_mlflow_session(auth_server.url, auth_server.admin):
        client = MlflowClient(tracking_uri=auth_server.url, registry_uri=auth_server.url)
        client.create_registered_model(MODEL_P)
        source = client.get_model_version(auth_server.models["X"], "1")
        model_id = source.model_id or source.source.rsplit("/", 1)[-1]
        for _ in range(2):
            client.create_model_version(
                MODEL_P, source=source.source, run_id=source.run_id, model_id=model_id
            )
        client.set_registered_model_alias(MODEL_P, "Champion", "1")
    auth_server.grant("alice", "registered_model", MODEL_P, "EDIT")
    auth_server.grant("bob", "registered_model", MODEL_P, "READ")
    yield MODEL_P
    with _admin_mlflow_session(auth_server.url, auth_server.admin):
        MlflowClient(
            tracking_uri=auth_server.url, registry_uri=auth_server.url
        ).delete_registered_model(MODEL_P)


@pytest.fixture(scope="module")
def workers(auth_server, model_p, tmp_path_factory):
    """Two app instances on one data dir, aliases remembered a minute: only the console's
    generation can make the second see the first's move at once."""
    data_dir = tmp_path_factory.mktemp("promotion-auth")
    settings = replace(mlflow_basic_settings(auth_server, data_dir), alias_cache_seconds=60)
    return create_app(settings=settings), create_app(settings=settings)


def champion_as_admin(server, name: str) -> str:
    answer = requests.get(
        f"{server.url}/api/2.0/mlflow/registered-models/alias",
        params={"name": name, "alias": "Champion"},
        auth=server.admin,
        timeout=30,
    )
    return answer.json()["model_version"]["version"]


def put(app, server, user: str, path: str, body: object):
    """As the user sends it: in its own order (Flask's ``json=`` would sort the keys, and a
    split's arms keep the order they are given in)."""
    headers = auth(server, user, **{"Content-Type": "application/json"})
    return app.server.test_client().put(path, data=json.dumps(body), headers=headers)


def test_a_read_user_is_refused_with_what_is_missing_and_nothing_changes(
    workers, auth_server, model_p
):
    first, _ = workers
    answer = put(
        first, auth_server, "bob", f"/api/models/{model_p}/aliases/Champion", {"version": 2}
    )

    assert answer.status_code == 403
    body = answer.get_json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "bob has READ on test.auth.model_p" in body["message"]
    assert "needs EDIT or MANAGE" in body["message"]
    assert champion_as_admin(auth_server, model_p) == "1"
    refused = services_of(first.server).audit.rows(user="bob", action="alias")
    assert [(r["outcome"], r["alias"], r["error_code"]) for r in refused] == [
        ("denied", "Champion", "PERMISSION_DENIED")
    ]


def test_a_read_user_is_told_no_by_the_server_and_an_edit_user_yes(workers, auth_server, model_p):
    promotion = services_of(workers[0].server).promotion
    bob = Caller("bob", MODE_MLFLOW_BASIC, password=auth_server.passwords["bob"])
    alice = Caller("alice", MODE_MLFLOW_BASIC, password=auth_server.passwords["alice"])
    wrong = Caller("alice", MODE_MLFLOW_BASIC, password="not her password")

    assert promotion.can_manage(bob, model_p).may_move is False
    assert (
        promotion.can_manage(alice, model_p).may_move,
        promotion.can_manage(alice, model_p).may_delete,
    ) == (True, False)
    refused = promotion.can_manage(wrong, model_p)
    assert (refused.may_move, "could not confirm" in refused.reason) == (False, True)


def test_an_edit_user_promotes_the_other_worker_follows_and_rollback_restores(
    workers, auth_server, model_p
):
    first, second = workers
    path = f"/api/models/{model_p}"
    asked = second.server.test_client().get(f"{path}/Champion", headers=auth(auth_server, "alice"))
    assert asked.get_json()["version"] == "1"  # the second worker now remembers Champion → 1

    moved = put(first, auth_server, "alice", f"{path}/aliases/Champion", {"version": "2"})

    assert moved.status_code == 200
    assert moved.get_json() == {"alias": "Champion", "version": "2", "previous": "1"}
    assert champion_as_admin(auth_server, model_p) == "2"
    again = second.server.test_client().get(f"{path}/Champion", headers=auth(auth_server, "alice"))
    assert again.get_json()["version"] == "2"
    (record,) = services_of(first.server).audit.rows(user="alice", action="alias")
    assert (record["previous_version"], record["version"], record["outcome"]) == ("1", "2", "ok")

    history = second.server.test_client().get(
        f"{path}/aliases/Champion/history", headers=auth(auth_server, "bob")
    )
    assert [m["text"].rsplit(" at ", 1)[0] for m in history.get_json()["moves"]] == [
        "Champion: v1 → v2 by alice"
    ]

    back = second.server.test_client().post(
        f"{path}/aliases/Champion/rollback", headers=auth(auth_server, "alice")
    )
    assert back.get_json() == {"alias": "Champion", "version": "1", "previous": "2"}
    assert champion_as_admin(auth_server, model_p) == "1"
    now = first.server.test_client().get(f"{path}/Champion", headers=auth(auth_server, "alice"))
    assert now.get_json()["version"] == "1"


def test_deleting_an_alias_needs_manage(workers, auth_server, model_p):
    first, _ = workers
    path = f"/api/models/{model_p}/aliases/Champion"
    refused = first.server.test_client().delete(path, headers=auth(auth_server, "alice"))

    assert refused.status_code == 403
    assert "deleting an alias needs MANAGE" in refused.get_json()["message"]
    assert champion_as_admin(auth_server, model_p) == "1"


def test_the_split_follows_the_same_rule(workers, auth_server, model_p):
    first, _ = workers
    path = f"/api/models/{model_p}/split"
    weights = {"Champion": 90, "2": 10}

    refused = put(first, auth_server, "bob", path, weights)
    saved = put(first, auth_server, "alice", path, weights)

    assert refused.status_code == 403
    assert saved.status_code == 200
    assert [a["ref"] for a in saved.get_json()["arms"]] == ["Champion", "2"]
    tags = requests.get(
        f"{auth_server.url}/api/2.0/mlflow/registered-models/get",
        params={"name": model_p},
        auth=auth_server.admin,
        timeout=30,
    ).json()["registered_model"]["tags"]
    assert {"key": SPLIT_TAG, "value": "Champion:90,2:10"} in tags
    assert [r["outcome"] for r in services_of(first.server).audit.rows(action="split-edit")] == [
        "denied",
        "ok",
    ]


def test_a_body_that_is_not_an_object_is_a_400(workers, auth_server, model_p):
    first, _ = workers
    answer = put(first, auth_server, "alice", f"/api/models/{model_p}/aliases/Champion", ["2"])
    assert (answer.status_code, answer.get_json()["error_code"]) == (400, "INVALID_INPUT")


def test_a_read_user_sees_the_controls_disabled_with_the_reason(workers, auth_server, model_p):
    """The Model Configuration panel, drawn for bob's own request (his identity decided by
    the app's request hook, as for any callback)."""
    from callbacks.features.promotion import PromotionCallbacks
    from layouts.selection import Selection

    first, _ = workers
    callbacks = PromotionCallbacks(services_of(first.server))
    loaded = Selection(model_p, "Champion", "1", "Champion").to_store()
    drawn = {}
    for user in ("bob", "alice"):
        with first.server.test_request_context("/", headers=auth(auth_server, user)):
            first.server.preprocess_request()
            drawn[user] = callbacks.panel(loaded, 0)

    assert (drawn["bob"]["set"], drawn["bob"]["delete"], drawn["bob"]["split"]) == (
        True,
        True,
        True,
    )
    reason = str(drawn["bob"]["permission"])
    assert "bob has READ on test.auth.model_p" in reason
    assert "needs EDIT or MANAGE" in reason
    assert (drawn["alice"]["set"], drawn["alice"]["delete"], drawn["alice"]["split"]) == (
        False,
        True,
        False,
    )
