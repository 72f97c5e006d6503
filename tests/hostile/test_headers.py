"""Weird Content-Length, Host, X-Forwarded-* and credential headers."""

from __future__ import annotations

import json

import pytest

from app import services_of
from services.registry.demo import IRIS_MODEL
from tests.conftest import SETOSA, basic_header
from tests.hostile.corpus import (
    DASH,
    IRIS_PREDICT,
    PASSWORD,
    TOKEN,
    callback_key,
    forged_call,
    shown,
    visible_text,
)

# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------

CONTENT_LENGTHS = [
    "-1",
    "abc",
    "99999999999999999999999",
    "0",
    "1",
    "5",
    "1e3",
    " 10",
    "10,10",
    "",
    "0x10",
    str(2**63),
    str(60 * 1024 * 1024),
    "1000",
]


@pytest.mark.parametrize("length", CONTENT_LENGTHS, ids=[repr(c) for c in CONTENT_LENGTHS])
def test_weird_content_length(guard, iris_upload, length):
    body = json.dumps(SETOSA).encode()
    for path, content_type in (
        (IRIS_PREDICT, "application/json"),
        (IRIS_PREDICT, "text/csv"),
        ("/api/uploads?filename=a.csv", "text/csv"),
        (f"/api/models/{IRIS_MODEL}/1/score/{iris_upload}", "text/csv"),
        (DASH, "application/json"),
    ):
        guard.send(
            "post",
            path,
            length,
            data=body,
            content_type=content_type,
            environ_overrides={"CONTENT_LENGTH": length},
        )
    guard.alive()


HOSTS = [
    "evil.example",
    "evil.example:443",
    "127.0.0.1:99999",
    "",
    "a" * 5000,
    "[::1]",
    "..",
    "localhost:8050/../",
    "%00",
    "localhost\x00evil.example",
    "localhost@evil.example",
    "xn--80ak6aa92e.com",
    "127.0.0.1, evil.example",
]


@pytest.mark.parametrize("host", HOSTS, ids=[shown(h, 30) for h in HOSTS])
def test_weird_host_headers(guard, host):
    for method, path, kwargs in (
        ("post", IRIS_PREDICT, {"json": SETOSA}),
        ("get", "/", {}),
        ("get", "/_dash-layout", {}),
    ):
        response = guard.send(method, path, host, headers={"Host": host}, **kwargs)
        if "evil" in host:
            assert "evil.example" not in response.get_data(as_text=True), (path, host)
    guard.alive()


SPOOFED = [
    {"X-Forwarded-Email": "ceo@example.com", "X-Forwarded-Access-Token": TOKEN},
    {"X-Forwarded-User": "ceo@example.com", "X-Forwarded-Preferred-Username": "ceo"},
    {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "gopher",
        "X-Forwarded-For": "203.0.113.9, ::1",
        "X-Forwarded-Port": "99999",
    },
    {
        "X-Forwarded-Prefix": "/../../evil.example/",
        "X-Original-URL": "/api/files/x",
        "X-Rewrite-URL": "/../../etc/passwd",
    },
    {"Authorization": f"Bearer {TOKEN}"},
    {**basic_header("admin", PASSWORD)},
    {"Authorization": "Basic !!!", "Cookie": f"session={TOKEN}"},
    {"Authorization": "x" * 10_000, "X-Forwarded-Email": "\x00"},
]


@pytest.mark.parametrize("headers", SPOOFED, ids=[",".join(h) for h in SPOOFED])
def test_forwarded_and_credential_headers_are_ignored_in_mode_none(guard, hostile_app, headers):
    """Mode none has one local user: a forwarded identity or a credential changes nothing,
    is not echoed, and the audit log names the local user."""
    response = guard.send("post", IRIS_PREDICT, headers, json=SETOSA, headers=headers)
    assert response.status_code == 200 and response.get_json()["predictions"] == [0]
    assert services_of(hostile_app.server).audit.rows()[-1]["user"] == "local user"
    user = forged_call(hostile_app, callback_key(hostile_app, "show_user"), {})
    pages = [
        guard.send("get", "/", headers, headers=headers),
        guard.send("get", "/_dash-layout", headers, headers=headers),
        guard.send("post", DASH, headers, json=user, headers=headers),
    ]
    for page in pages:
        text = visible_text(page)
        assert "ceo" not in text and "evil.example" not in text, text[:300]
    guard.alive()
