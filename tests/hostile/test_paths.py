"""Hostile model names, references, file ids, filenames, result formats and UI paths."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry.demo import IRIS_MODEL
from tests.conftest import SETOSA
from tests.hostile.corpus import (
    MARKER,
    Guard,
    examples,
    iris_csv,
    shown,
)
from tests.registry_models import NO_SIGNATURE_MODEL, TENSOR_MODEL

# ---------------------------------------------------------------------------------------------
# Paths and identifiers
# ---------------------------------------------------------------------------------------------


MODEL_NAMES = [
    "..",
    "../..",
    "%2e%2e",
    "%2e%2e%2f%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    ".",
    "%2e",
    "ünïcødé",
    "模型",
    "x" * 300,
    "x" * 5000,
    "%00",
    "a%00b",
    f"{IRIS_MODEL}%00",
    "'",
    '"',
    "' OR '1'='1",
    "x'; DROP TABLE registered_models;--",
    "%25",
    "%",
    "a%20b",
    "%20",
    "%0a",
    f"{IRIS_MODEL}%0a",
    f"{IRIS_MODEL}%20",
    IRIS_MODEL.upper(),
    "*",
    "%2A",
    "a%2Fb",
    "%5c..%5c",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "%ff",
    "%c0%ae%c0%ae",
    "%e2%80%ae",
    "main.ml_models.%25",
    "main..x",
    f"{IRIS_MODEL}'--",
    NO_SIGNATURE_MODEL,
    TENSOR_MODEL,
    "test.models.empty",
    "test.models.staged",
]


def model_routes(name: str, ref: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("post", f"/api/models/{name}/{ref}/predict", {"json": SETOSA}),
        ("get", f"/api/models/{name}/{ref}", {}),
        ("get", f"/api/models/{name}", {}),
    ]


@pytest.mark.parametrize("name", MODEL_NAMES, ids=[shown(n, 40) for n in MODEL_NAMES])
def test_hostile_model_names(guard, name):
    for method, path, kwargs in model_routes(name, "1"):
        guard.send(method, path, **kwargs)
    guard.alive()


REFS = [
    "..",
    "%2e%2e",
    "../..",
    "0",
    "-1",
    "1.0",
    "01",
    "9" * 30,
    "18446744073709551616",
    str(2**63),
    "1e3",
    "latest",
    "LATEST",
    "Production",
    "Archived",
    "None",
    "null",
    "%00",
    "1%00",
    "'",
    "' OR 1=1--",
    "x" * 5000,
    "ünï",
    "Champion%0a",
    "champion",
    "%201",
    "1%20",
    "%20",
    "1;2",
    "a%2fb",
    "Champion@",
    "@Champion",
    "v1",
    "2**64",
    "%ff",
]


@pytest.mark.parametrize("ref", REFS, ids=[shown(r, 40) for r in REFS])
def test_hostile_refs(guard, ref):
    for method, path, kwargs in model_routes(IRIS_MODEL, ref)[:2]:
        guard.send(method, path, **kwargs)
    guard.alive()


url_segments = st.text(max_size=40).map(lambda text: quote(text, safe=""))


@examples(40)
@given(name=url_segments, ref=url_segments)
def test_generated_names_and_refs(guard, name, ref):
    for method, path, kwargs in model_routes(name or "x", ref or "1"):
        guard.send(method, path, **kwargs)
    guard.alive(every=5)


def hostile_ids(real: str) -> list[str]:
    return [
        "../../etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{real}%0a",
        f"{real}%0d%0a",
        real.upper(),
        f"{real}%00",
        "%00",
        real[:31],
        f"{real}0",
        f"%20{real}",
        f"{real}%20",
        "a" * 10_000,
        "..",
        "%2e%2e",
        "0" * 32,
        f"{real}.data",
        f"{real}.name",
        f"..%2f{real}",
        f"{real}%2f",
        "%5c..%5cx",
        f"{real[:30]}%0a%0a",
        "%ef%bc%8e%ef%bc%8e",
        "ＡＢＣ",
    ]


def test_hostile_file_ids(guard, iris_upload):
    """Neither download nor score finds anything under an id that is not exactly one of the
    caller's: every hostile variant of a real id is refused, and the file never leaks."""
    assert guard.send("get", f"/api/files/{iris_upload}").status_code == 200
    for file_id in hostile_ids(iris_upload):
        for method, path in (
            ("get", f"/api/files/{file_id}"),
            ("post", f"/api/models/{IRIS_MODEL}/1/score/{file_id}"),
        ):
            response = guard.send(method, path)
            assert response.status_code >= 400, (path[:120], response.status_code)
            assert MARKER not in response.get_data(as_text=True), path[:120]
        guard.alive()


@examples(40)
@given(file_id=st.text(max_size=40) | st.from_regex(r"[0-9a-fA-F]{30,34}\s?", fullmatch=True))
def test_generated_file_ids(guard, file_id):
    quoted = quote(file_id, safe="") or "%20"
    for method, path in (
        ("get", f"/api/files/{quoted}"),
        ("post", f"/api/models/{IRIS_MODEL}/1/score/{quoted}"),
    ):
        response = guard.send(method, path, file_id)
        assert response.status_code >= 400, (path[:120], response.status_code)
    guard.alive(every=5)


SAFE_FILENAME = re.compile(r"[A-Za-z0-9._-]{1,160}")
FILENAMES = [
    "../../x",
    "..",
    ".",
    "",
    "x" * 5000,
    "a\x01\x1f\x7f.csv",
    "ünï©ødé.csv",
    "/etc/passwd",
    "C:\\x\\y.csv",
    "a/../../b.csv",
    "%2e%2e%2f",
    "\u202egnp.csv",
    "a\nb.csv",
    "a\r\nContent-Type: text/html.csv",
    '<script>"x".csv',
    "...",
    "..csv",
    "\x00",
    "con.csv",
    "a;filename=evil.exe",
    "=cmd.csv",
]


def assert_safe_filename(filename: str, case: object) -> None:
    assert SAFE_FILENAME.fullmatch(filename), (case, filename)
    assert filename not in (".", ".."), (case, filename)


def upload_as(guard: Guard, filename: str) -> None:
    upload = guard.send(
        "post",
        f"/api/uploads?filename={quote(filename, safe='')}",
        filename,
        data=iris_csv("5.1,3.5,1.4,0.2"),
        content_type="text/csv",
    )
    assert upload.status_code == 201, upload.status_code
    stored = upload.get_json()
    assert_safe_filename(stored["filename"], filename)
    download = guard.send("get", f"/api/files/{stored['file_id']}", filename)
    disposition = download.headers["Content-Disposition"]
    assert "/" not in disposition and "\\" not in disposition, disposition
    scored = guard.send("post", f"/api/models/{IRIS_MODEL}/1/score/{stored['file_id']}", filename)
    assert_safe_filename(scored.get_json()["result_file"]["filename"], filename)


@pytest.mark.parametrize("filename", FILENAMES, ids=[shown(f, 40) for f in FILENAMES])
def test_hostile_filenames(guard, filename):
    upload_as(guard, filename)
    guard.alive()


@examples(40)
@given(filename=st.text(max_size=60))
def test_generated_filenames(guard, filename):
    upload_as(guard, filename)
    guard.alive(every=5)


FORMATS = {
    "parquet": 200,
    "PARQUET": 200,
    " csv ": 200,
    "": 200,
    "csv": 200,
    "xlsx": 400,
    "../x": 400,
    "csv%00": 400,
    "p" * 10_000: 400,
    "json": 400,
    "csv,parquet": 400,
    "%2e%2e%2fcsv": 400,
    "parquet%0a": 200,
}


@pytest.mark.parametrize(("fmt", "status"), FORMATS.items(), ids=[shown(f, 30) for f in FORMATS])
def test_result_formats(guard, iris_upload, fmt, status):
    path = f"/api/models/{IRIS_MODEL}/1/score/{iris_upload}?format={quote(fmt, safe='%')}"
    response = guard.send("post", path, fmt)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    guard.alive()


UI_PATHS = [
    "/",
    "/%00",
    "/..%2f..%2fetc%2fpasswd",
    "/../../etc/passwd",
    "/assets/../app.py",
    "/assets/..%2fapp.py",
    "/assets/%2e%2e/app.py",
    "/assets/..%5capp.py",
    "/assets/10-console.css",
    "/_dash-component-suites/dash/../../app.py",
    "/_dash-component-suites/dash/..%2f..%2f..%2fapp.py",
    "/_dash-component-suites/dash/x.js",
    "/_dash-component-suites/%2e%2e/%2e%2e/app.py",
    "/_dash-layout",
    "/_dash-dependencies",
    "/_reload-hash",
    "/_favicon.ico",
    "/x" * 300,
    "/" + "é" * 100,
    "/api",
    "/api/files/",
    "/api/models/",
    "/api/health%00",
    "/api/../app.py",
    "/job-secret",
    "/.app-data/job-secret",
    "/audit.db",
    "/files/",
]


@pytest.mark.parametrize("path", UI_PATHS, ids=[shown(p, 40) for p in UI_PATHS])
def test_hostile_ui_paths(guard, path):
    response = guard.send("get", path)
    text = response.get_data().decode("utf-8", "replace")
    for secret in ("root:x:0:0", "def create_app", "SQLite format 3"):
        assert secret not in text, (path, secret)
    guard.alive()
