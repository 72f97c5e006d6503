"""Who the caller is, by mode, decided from the request on the server.

The ``databricks`` tests run against ``tests/databricks_fake.py``, a local HTTP fake of the
few Databricks REST endpoints the app calls: Databricks itself cannot run here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from app import create_app, services_of
from services.access.caller import LOCAL_CALLER, Caller
from services.access.identity import identify
from services.errors import PermissionDenied, Unauthenticated
from services.jobs.seal import caller_seal, job_secret
from services.registry.types import ResolvedVersion
from services.registry.unity_catalog import user_registry
from services.settings import auth_mode_from_env
from tests.conftest import SETOSA, basic_header, settings_for
from tests.databricks_fake import FakeWorkspace, running_workspace

SPOOF = {"X-Forwarded-Email": "ceo@example.com", "X-Forwarded-Access-Token": "stolen"}


def test_mode_none_ignores_forwarded_headers():
    assert identify("none", SPOOF) == LOCAL_CALLER


def test_mode_none_app_records_the_local_user_not_the_spoofed_one(settings):
    app = create_app(settings=settings)
    client = app.server.test_client()
    response = client.post(
        "/api/models/main.ml_models.iris_classifier/1/predict", json=SETOSA, headers=SPOOF
    )
    assert response.status_code == 200
    audit = services_of(app.server).audit
    assert audit.rows()[-1]["user"] == "local user"


def test_mlflow_basic_reads_only_the_authorization_header():
    caller = identify("mlflow-basic", {**basic_header("alice", "pw-1234567890"), **SPOOF})
    assert (caller.user, caller.password, caller.token) == ("alice", "pw-1234567890", None)
    assert "pw-1234567890" not in repr(caller)
    with pytest.raises(Unauthenticated, match="Sign in"):
        identify("mlflow-basic", SPOOF)
    with pytest.raises(Unauthenticated, match="not valid HTTP Basic"):
        identify("mlflow-basic", {"Authorization": "Basic !!!"})


def test_databricks_user_and_token_from_the_apps_proxy_headers():
    caller = identify(
        "databricks",
        {"X-Forwarded-Email": "ana@corp.com", "X-Forwarded-Access-Token": "user-token"},
    )
    assert (caller.user, caller.token) == ("ana@corp.com", "user-token")
    fallback = identify(
        "databricks", {"X-Forwarded-User": "123@456", "X-Forwarded-Access-Token": "t"}
    )
    assert fallback.user == "123@456"


def test_databricks_without_user_token_explains_user_authorization():
    with pytest.raises(Unauthenticated) as error:
        identify("databricks", {"X-Forwarded-Email": "ana@corp.com"})
    assert "User authorization is not enabled for this app" in error.value.message
    assert "never falls back" in error.value.hint


def test_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("APP_AUTH_MODE", raising=False)
    monkeypatch.delenv("DATABRICKS_APP_NAME", raising=False)
    assert auth_mode_from_env() == "none"
    monkeypatch.setenv("DATABRICKS_APP_NAME", "model-console")
    assert auth_mode_from_env() == "databricks"
    monkeypatch.setenv("APP_AUTH_MODE", "mlflow-basic")
    assert auth_mode_from_env() == "mlflow-basic"


def test_cache_keys_separate_users_and_credentials_without_the_secret():
    alice = Caller("alice", "mlflow-basic", password="one-password")
    assert alice.key != Caller("bob", "mlflow-basic", password="one-password").key
    assert alice.key != Caller("alice", "mlflow-basic", password="other-password").key
    assert "one-password" not in alice.key


@pytest.fixture
def workspace(monkeypatch) -> Iterator[str]:
    with running_workspace() as host:
        # What Databricks Apps always set: the app's own identity must never be used.
        monkeypatch.setenv("DATABRICKS_HOST", host)
        monkeypatch.setenv("DATABRICKS_CLIENT_ID", "service-principal-id")
        monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "service-principal-secret")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        yield host


def _databricks_settings(tmp_path, host):
    return replace(
        settings_for(tmp_path, tracking_uri="databricks", registry_uri="databricks-uc"),
        embedded_registry=False,
        auth_mode="databricks",
        databricks_host=host,
    )


def test_databricks_registry_calls_carry_the_users_token_only(tmp_path, workspace):
    ana = Caller("ana@corp.com", "databricks", token="ana-token")
    registry = user_registry(_databricks_settings(tmp_path, workspace), ana)
    assert registry.client.get_registered_model("main.sales.churn").name == "main.sales.churn"
    resolved = registry.resolve("main.sales.churn", "Champion")
    assert (resolved.version, resolved.alias) == ("3", "Champion")
    registry.check_access(resolved)
    assert FakeWorkspace.seen, "no request reached the workspace"
    assert {r["authorization"] for r in FakeWorkspace.seen} == {"Bearer ana-token"}
    assert not [r for r in FakeWorkspace.seen if "oidc" in r["path"] or "token" in r["path"]]


def test_databricks_listing_takes_unity_catalogs_search_results(tmp_path, workspace):
    """Unity Catalog's search results carry no tags or aliases (reading them raises)."""
    ana = Caller("ana@corp.com", "databricks", token="ana-token")
    listed = user_registry(_databricks_settings(tmp_path, workspace), ana).list_models()
    assert [(m.name, m.tags, m.aliases) for m in listed] == [("main.sales.churn", {}, {})]


def test_databricks_model_detail_lists_versions_from_search_results(tmp_path, workspace):
    """Found by schemathesis: a version from Unity Catalog's search has ``tags`` as a method
    that raises, and GET /api/models/<name> answered 500 reading it."""
    ana = {"X-Forwarded-Email": "ana@corp.com", "X-Forwarded-Access-Token": "ana-token"}
    answer = _databricks_client(tmp_path, workspace).get(
        "/api/models/main.sales.churn", headers=ana
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [(v["version"], v["tags"]) for v in answer.get_json()["versions"]] == [("3", {})]


def test_databricks_denial_names_user_model_and_grant(tmp_path, workspace):
    bob = Caller("bob@corp.com", "databricks", token="bob-token")
    registry = user_registry(_databricks_settings(tmp_path, workspace), bob)
    resolved = ResolvedVersion("main.sales.churn", "3", "3", "models:/main.sales.churn/3")
    with pytest.raises(PermissionDenied) as error:
        registry.check_access(resolved)
    assert "Permission denied: bob@corp.com cannot use main.sales.churn" in error.value.message
    assert "GRANT EXECUTE ON FUNCTION main.sales.churn" in error.value.hint


def test_databricks_app_refuses_requests_without_user_token(tmp_path, workspace):
    app = create_app(settings=_databricks_settings(tmp_path, workspace))
    client = app.server.test_client()
    response = client.get("/api/models", headers={"X-Forwarded-Email": "ana@corp.com"})
    assert response.status_code == 401
    assert "User authorization is not enabled" in response.get_json()["message"]
    page = client.get("/", headers={"X-Forwarded-Email": "ana@corp.com"})
    assert page.status_code == 401 and "User authorization" in page.get_data(as_text=True)
    assert FakeWorkspace.seen == []  # refused before any call on the app's behalf


def test_job_secret_is_made_once_private_and_overridable(tmp_path):
    """Web workers and Celery workers that share $APP_DATA_DIR open each other's sealed
    callers (tests/services/jobs/test_celery_jobs.py); here: one key, readable only by its owner."""
    settings = settings_for(tmp_path)
    key = job_secret(settings)
    assert len(key) == 32 and job_secret(settings) == key
    assert (tmp_path / "job-secret").stat().st_mode & 0o777 == 0o600
    configured = "k" * 40
    assert job_secret(replace(settings, job_secret=configured)) == configured.encode()
    with pytest.raises(ValueError, match="at least 32 characters"):
        job_secret(replace(settings, job_secret="short"))
    alice = Caller(user="alice", mode="mlflow-basic", password="pw-of-alice")
    sealed = caller_seal(settings).seal(alice, "job-1")
    assert caller_seal(settings).open(sealed, "job-1") == alice
    with pytest.raises(Unauthenticated, match="could not be verified"):
        caller_seal(replace(settings, job_secret=configured)).open(sealed, "job-1")


class SignInServer(BaseHTTPRequestHandler):
    """Stands in for an MLflow server that misbehaves on ``users/current`` (overloaded,
    not an auth server, answering for someone else): a real one cannot be made to."""

    status: ClassVar[int] = 200
    body: ClassVar[bytes] = b""
    calls: ClassVar[int] = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        SignInServer.calls += 1
        self.send_response(SignInServer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SignInServer.body)))
        self.end_headers()
        self.wfile.write(SignInServer.body)


@pytest.fixture
def sign_in_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SignInServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, b"{}"),
        (404, b"{}"),
        (429, b"{}"),
        (500, b"{}"),
        (502, b"oops"),
        (200, b"<html>not an auth server</html>"),
        (200, b'{"user": {"username": "admin"}}'),
    ],
    ids=["403", "404", "429", "500", "502", "not-json", "someone-else"],
)
def test_sign_in_fails_closed(tmp_path, sign_in_server, status, body):
    """Only a 200 naming this user signs in; anything else refuses, and is not remembered."""
    SignInServer.status, SignInServer.body, SignInServer.calls = status, body, 0
    settings = replace(
        settings_for(tmp_path),
        tracking_uri=sign_in_server,
        registry_uri=sign_in_server,
        embedded_registry=False,
        auth_mode="mlflow-basic",
    )
    client = create_app(settings=settings).server.test_client()
    mallory = basic_header("alice", "any-password-at-all")
    for _ in range(2):
        answer = client.get("/api/health", headers=mallory)
        assert answer.status_code == 503 and answer.status_code != 200
        assert "could not confirm the sign-in" in answer.get_data(as_text=True)
    assert SignInServer.calls == 2  # asked every time: a refusal is never cached as a yes
    SignInServer.status, SignInServer.body = 200, b'{"user": {"username": "alice"}}'
    assert client.get("/api/health", headers=mallory).status_code == 200


def test_an_unconfirmed_sign_in_is_answered_in_the_apis_error_form(tmp_path, sign_in_server):
    """The OpenAPI document gives every route's 503 as JSON with an error_code: the sign-in
    refusal answered plain text before any route ran."""
    SignInServer.status, SignInServer.body = 502, b"oops"
    settings = replace(
        settings_for(tmp_path),
        tracking_uri=sign_in_server,
        registry_uri=sign_in_server,
        embedded_registry=False,
        auth_mode="mlflow-basic",
    )
    client = create_app(settings=settings).server.test_client()
    answer = client.get("/api/models", headers=basic_header("alice", "any-password-at-all"))
    assert answer.status_code == 503 and answer.mimetype == "application/json"
    assert answer.get_json()["error_code"] == "REGISTRY_UNAVAILABLE"
    page = client.get("/", headers=basic_header("alice", "any-password-at-all"))
    assert page.status_code == 503 and page.mimetype == "text/plain"  # the page: words


def _databricks_client(tmp_path, workspace):
    return create_app(settings=_databricks_settings(tmp_path, workspace)).server.test_client()


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Forwarded-Email", "ceo@corp.com"), ("X-Forwarded-Access-Token", "ana-token")],
        [
            ("X-Forwarded-Email", "ana@corp.com"),
            ("X-Forwarded-Email", "ceo@corp.com"),
            ("X-Forwarded-Access-Token", "ana-token"),
        ],
        [
            ("X-Forwarded-Email", "ana@corp.com, ceo@corp.com"),
            ("X-Forwarded-Access-Token", "ana-token"),
        ],
        [("X-Forwarded-Email", "ana@corp.com"), ("X-Forwarded-Access-Token", "stolen")],
    ],
    ids=["someone-elses-name", "named-twice", "appended", "not-a-token"],
)
def test_databricks_user_is_the_owner_of_the_forwarded_token(tmp_path, workspace, headers):
    """Reaching the container past the proxy, or a proxy that appends: the forwarded user
    must be whom the workspace says the token belongs to."""
    client = _databricks_client(tmp_path, workspace)
    answer = client.get("/api/models", headers=headers)
    assert answer.status_code == 401, answer.get_data(as_text=True)
    ana = {"X-Forwarded-Email": "ana@corp.com", "X-Forwarded-Access-Token": "ana-token"}
    assert client.get("/api/health", headers=ana).status_code == 200
