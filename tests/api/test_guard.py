"""Requests from where they should come, answers that tell the browser what to allow: the
Host allow-list (DNS rebinding), same-origin state changes (CSRF), exact content types,
body limits on every route, security headers on every answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from services.registry.demo import IRIS_MODEL
from tests.conftest import SETOSA

PREDICT = f"/api/models/{IRIS_MODEL}/1/predict"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def guarded(settings):
    return create_app(settings=settings).server.test_client()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8050", "127.0.0.1.nip.io"])
def test_a_host_name_not_allowed_is_refused_before_anything_runs(guarded, host):
    """DNS rebinding: a site points its own name at 127.0.0.1 and calls the API."""
    for path in ("/api/models", "/", "/_dash-layout"):
        answer = guarded.get(path, headers={"Host": host})
        assert answer.status_code == 400, path
    body = guarded.post(PREDICT, json=SETOSA, headers={"Host": host}).get_json()
    assert body["error_code"] == "HOST_NOT_ALLOWED" and "ALLOWED_HOSTS" in body["message"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8050", "127.0.0.1:9000", "[::1]:8050"])
def test_loopback_names_are_allowed_in_mode_none(guarded, host):
    assert guarded.post(PREDICT, json=SETOSA, headers={"Host": host}).status_code == 200


def test_allowed_hosts_names_the_console_behind_a_proxy(settings):
    client = create_app(settings=replace(settings, allowed_hosts="console.example.com")).server
    client = client.test_client()
    assert client.get("/api/health", headers={"Host": "console.example.com"}).status_code == 200
    assert client.get("/api/health", headers={"Host": "localhost"}).status_code == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": EVIL}, 403),
        ({"Referer": f"{EVIL}/page"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "http://localhost:8051"}, 403),
        ({"Origin": "http://localhost"}, 200),
        ({"Sec-Fetch-Site": "same-origin"}, 200),
        ({}, 200),
    ],
    ids=[
        "origin",
        "referer",
        "null-origin",
        "fetch-site",
        "other-port",
        "same-origin",
        "fetch-same",
        "script",
    ],
)
def test_a_page_on_another_site_cannot_make_a_browser_predict(guarded, headers, status):
    answer = guarded.post(PREDICT, json=SETOSA, headers=headers)
    assert answer.status_code == status
    if status == 403:
        assert answer.get_json()["error_code"] == "CROSS_SITE_REQUEST"


def test_cross_site_uploads_and_callbacks_are_refused(guarded):
    upload = guarded.post(
        "/api/uploads?filename=x.csv",
        data="a\n1\n",
        content_type="text/csv",
        headers={"Origin": EVIL},
    )
    assert upload.status_code == 403
    callback = guarded.post("/_dash-update-component", json={}, headers={"Origin": EVIL})
    assert callback.status_code == 403


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_predict_takes_exact_content_types(guarded, content_type):
    """What a cross-site form could send without asking first is refused."""
    headers = {"Content-Type": content_type} if content_type else {}
    answer = guarded.post(PREDICT, data=b'{"sepal_length": 5.1}', headers=headers)
    assert answer.status_code == 415
    assert "application/json" in answer.get_json()["hint"]
    ok = guarded.post(
        PREDICT, json=SETOSA, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200


def test_uploads_take_csv_content_types_only(guarded):
    refused = guarded.post("/api/uploads?filename=x.csv", data="a\n1\n", content_type="text/plain")
    assert refused.status_code == 415 and "text/csv" in refused.get_json()["hint"]
    taken = guarded.post("/api/uploads?filename=x.csv", data="a\n1\n", content_type="text/csv")
    assert taken.status_code == 201


def test_callback_bodies_have_a_limit(settings):
    small = create_app(settings=replace(settings, max_request_bytes=1024)).server.test_client()
    answer = small.post(
        "/_dash-update-component", data=b"{" + b" " * 2048 + b"}", content_type="application/json"
    )
    assert answer.status_code == 413


def test_every_answer_carries_security_headers(settings):
    client = create_app(settings=replace(settings, frame_ancestors="https://*.databricksapps.com"))
    client = client.server.test_client()
    for path in ("/", "/api/health", "/assets/10-console.css", "/api/nope", "/_dash-layout"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors https://*.databricksapps.com" in policy, path
        assert (
            "script-src 'self' 'sha256-" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
