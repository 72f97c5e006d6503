"""On-behalf-of-user permissions against a real MLflow basic-auth server (no mocks).

Grants (see tests/auth_server.py): alice READ on model X and its experiment; bob nothing;
alice READ on model Y but not on Y's experiment (she can see Y, not load its files).
"""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from app import create_app, services_of
from layouts.answer import JSON_ANSWER
from layouts.ids import History, Json, Page
from tests.auth_server import AuthServer
from tests.conftest import SETOSA, auth, basic_header, mlflow_basic_settings
from tests.dash_requests import click_request

pytestmark = pytest.mark.slow

MARKER = 4.321987  # a payload value that must never reach the audit log


def _console_app(server: AuthServer, tmp_path, **overrides: Any):
    return create_app(settings=replace(mlflow_basic_settings(server, tmp_path), **overrides))


@pytest.fixture(scope="module")
def console_app(auth_server, tmp_path_factory):
    return _console_app(auth_server, tmp_path_factory.mktemp("console"))


def predict(client, server: AuthServer, user: str, model: str, **headers: str):
    url = f"/api/models/{server.models[model]}/Champion/predict"
    return client.post(
        url, json={**SETOSA, "sepal_length": MARKER}, headers=auth(server, user, **headers)
    )


EXPECTED = {("alice", "X"): 200, ("bob", "X"): 403, ("alice", "Y"): 403}


def _assert_matrix(client, server: AuthServer) -> None:
    for (user, model), status in EXPECTED.items():
        response = predict(client, server, user, model)
        assert response.status_code == status, (user, model, response.get_json())
        body = response.get_json()
        if status == 200:
            assert body["predictions"] == [0] and body["version"] == "1"
        else:
            name = server.models[model]
            assert body["error_code"] == "PERMISSION_DENIED"
            assert body["message"].startswith(f"Permission denied: {user} cannot use {name}")
            assert "READ on the model and its experiment" in body["hint"]


def test_each_user_gets_their_own_verdict(console_app, auth_server):
    _assert_matrix(console_app.server.test_client(), auth_server)


def test_a_cache_warmed_by_the_admin_serves_nobody_else(auth_server, tmp_path):
    app = _console_app(auth_server, tmp_path)
    client = app.server.test_client()
    for model in ("X", "Y"):
        assert predict(client, auth_server, auth_server.admin[0], model).status_code == 200
    services = services_of(app.server)
    assert len(services.models) == 2  # both models are loaded and cached
    _assert_matrix(client, auth_server)


def test_interleaved_users_from_eight_threads(console_app, auth_server):
    cases = list(itertools.islice(itertools.cycle(EXPECTED.items()), 240))

    def run(case):
        (user, model), status = case
        response = predict(console_app.server.test_client(), auth_server, user, model)
        return response.status_code == status

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(run, cases))
    assert all(outcomes), f"{outcomes.count(False)} of {len(outcomes)} wrong"


def test_revoked_grant_is_denied_within_the_verdict_ttl(auth_server, tmp_path):
    ttl = 2
    app = _console_app(auth_server, tmp_path, permission_cache_seconds=ttl, alias_cache_seconds=1)
    client = app.server.test_client()
    assert predict(client, auth_server, "alice", "X").status_code == 200
    auth_server.revoke("alice", "registered_model", auth_server.models["X"])
    try:
        revoked_at = time.monotonic()
        while predict(client, auth_server, "alice", "X").status_code == 200:
            assert time.monotonic() - revoked_at < ttl + 5, "still allowed after the TTL"
            time.sleep(0.2)
    finally:
        auth_server.grant("alice", "registered_model", auth_server.models["X"])


def test_a_verdict_time_of_zero_means_ask_every_time(auth_server, tmp_path):
    """PERMISSION_CACHE_SECONDS=0 must not mean "remember forever" (cachelib's 0). Only the
    files' grant is revoked: resolving still works, the verdict alone must refuse."""
    app = _console_app(auth_server, tmp_path, permission_cache_seconds=0, alias_cache_seconds=0)
    client = app.server.test_client()
    assert predict(client, auth_server, "alice", "X").status_code == 200
    auth_server.revoke("alice", "experiment", auth_server.experiments["X"])
    try:
        revoked_at = time.monotonic()
        while predict(client, auth_server, "alice", "X").status_code == 200:
            assert time.monotonic() - revoked_at < 5, "a revoked grant still works"
            time.sleep(0.2)
    finally:
        auth_server.grant("alice", "experiment", auth_server.experiments["X"])


def _callback_request(app, selection: dict[str, Any], text: str) -> dict[str, Any]:
    """The request the browser sends when Predict is pressed in the JSON tab."""
    return click_request(
        app,
        (f"{JSON_ANSWER.result}.children", f"{History.NEW}.data"),
        Json.PREDICT,
        [(Json.TEXT, "value", text), (Page.SELECTION, "data", selection)],
    )


def test_forged_callback_naming_a_forbidden_model_is_denied(console_app, auth_server):
    """bob's browser claims in the session store that model X is loaded: the server decides."""
    client = console_app.server.test_client()
    forged = {"name": auth_server.models["X"], "ref": "1", "version": "1", "alias": None}
    body = _callback_request(console_app, forged, json.dumps(SETOSA))
    bob = client.post("/_dash-update-component", json=body, headers=auth(auth_server, "bob"))
    assert bob.status_code == 200
    assert f"Permission denied: bob cannot use {auth_server.models['X']}" in bob.get_data(
        as_text=True
    )
    alice = client.post("/_dash-update-component", json=body, headers=auth(auth_server, "alice"))
    assert '\\"predictions\\": [0]' in alice.get_data(as_text=True)


def test_every_route_asks_for_credentials(console_app, auth_server):
    client = console_app.server.test_client()
    for path in ("/", "/api/models", "/_dash-layout", "/assets/10-console.css"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = client.get("/api/models", headers=basic_header("alice", "wrong-password"))
    assert wrong.status_code == 401
    assert "did not accept the password for alice" in wrong.get_json()["message"]


def test_users_see_only_the_models_they_may_see(console_app, auth_server):
    client = console_app.server.test_client()
    alice = client.get("/api/models", headers=auth(auth_server, "alice")).get_json()["models"]
    bob = client.get("/api/models", headers=auth(auth_server, "bob")).get_json()["models"]
    assert {m["name"] for m in alice} == set(auth_server.models.values())
    assert bob == []
    denied = client.get(
        f"/api/models/{auth_server.models['Y']}/1", headers=auth(auth_server, "alice")
    )
    assert denied.status_code == 403  # alice may see Y in the list, not open its files


def test_spoofed_forwarded_headers_are_ignored(console_app, auth_server):
    client = console_app.server.test_client()
    spoof = {"X-Forwarded-Email": auth_server.admin[0], "X-Forwarded-Access-Token": "x"}
    response = predict(client, auth_server, "bob", "X", **spoof)
    assert response.status_code == 403
    audit = services_of(console_app.server).audit
    assert audit.rows()[-1]["user"] == "bob"


def test_audit_rows_name_the_real_user_and_hold_no_payload_or_secret(console_app, auth_server):
    client = console_app.server.test_client()
    for (user, model), _ in EXPECTED.items():
        predict(client, auth_server, user, model)
    client.get("/api/models", headers=basic_header("alice", "not-her-password"))
    audit = services_of(console_app.server).audit
    rows = audit.rows()
    outcomes = {(r["user"], r["model"], r["outcome"]) for r in rows if r["action"] == "predict"}
    assert ("alice", auth_server.models["X"], "ok") in outcomes
    assert ("bob", auth_server.models["X"], "denied") in outcomes
    assert ("alice", auth_server.models["Y"], "denied") in outcomes
    assert any(r["action"] == "sign-in" and r["outcome"] == "denied" for r in rows)
    everything = json.dumps(rows, default=str)
    for secret in (*auth_server.passwords.values(), auth_server.admin[1], str(MARKER)):
        assert secret not in everything
    ok = next(r for r in rows if r["outcome"] == "ok" and r["action"] == "predict")
    assert ok["input_rows"] == 1 and ok["version"] == "1" and ok["alias"] == "Champion"
    assert ok["latency_ms"] > 0 and ok["source"] == "api"
