"""The API reads a request body under gunicorn through its reader (whole socket reads, not a
kilobyte at a time): the same bytes as ``request.stream`` gives, for every way a body comes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import socket
import threading
from dataclasses import replace

import pytest
from flask import Flask, request
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from api.routes import _body
from app import create_app
from services.errors import ConsoleError
from tests.conftest import SETOSA

LIMIT = 1 << 20


def _app(peek: int = 0) -> Flask:
    app = Flask(__name__)
    app.register_error_handler(ConsoleError, lambda error: (error.message, error.http_status))

    @app.post("/body")
    def body() -> dict[str, object]:
        if peek:  # something read part of the body first: the rest must still come whole
            head = request.environ["wsgi.input"].read(peek)
            rest = _body(LIMIT)
            data = head + rest
        else:
            data = _body(LIMIT)
        return {"length": len(data), "sha": hashlib.sha256(data).hexdigest()}

    return app


def _through_gunicorn(app: Flask, raw: bytes) -> tuple[str, bytes]:
    """``raw`` (a whole HTTP request) parsed by gunicorn's own parser from a socket, the WSGI
    environ built as its workers build it, the app called; the status and body it answered."""
    server, client = socket.socketpair()

    def send() -> None:
        with contextlib.suppress(OSError):  # a refused body is not read: the socket closes
            client.sendall(raw)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        cfg = Config()
        parsed = next(iter(RequestParser(cfg, server, ("127.0.0.1", 1))))
        _, environ = wsgi.create(parsed, server, ("127.0.0.1", 1), ("127.0.0.1", 2), cfg)
        answer: list[str] = []
        chunks = app(environ, lambda status, headers, exc_info=None: answer.append(status))
        return answer[0], b"".join(chunks)
    finally:
        server.shutdown(socket.SHUT_RDWR)
        sender.join()
        server.close()
        client.close()


def _request(body: bytes, chunked: bool = False) -> bytes:
    head = b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    if not chunked:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    pieces = [body[i : i + 70_001] for i in range(0, len(body), 70_001)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


BODY = bytes(range(256)) * 3_300  # 844,800 bytes: many socket reads


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("peek", [0, 1, 1024, 5_000])
def test_the_body_comes_whole_and_unchanged(chunked, peek):
    status, answer = _through_gunicorn(_app(peek), _request(BODY, chunked))
    assert status.startswith("200"), answer
    expected = f'"length":{len(BODY)},"sha":"{hashlib.sha256(BODY).hexdigest()}"'
    assert expected in answer.decode().replace(" ", "")


@pytest.mark.parametrize("chunked", [False, True])
def test_a_whole_body_goes_through_gunicorns_reader_not_its_kilobyte_loop(chunked, monkeypatch):
    """If gunicorn's internals change, this says so (the answers would stay right, slower)."""

    def refused(self, size=None):
        raise AssertionError("Body.read was used for a body nothing had read yet")

    monkeypatch.setattr("gunicorn.http.body.Body.read", refused)
    status, answer = _through_gunicorn(_app(), _request(BODY, chunked))
    assert status.startswith("200"), answer


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_limit_is_still_refused(chunked):
    status, _ = _through_gunicorn(_app(), _request(b"x" * (LIMIT + 1), chunked))
    assert status.startswith("413")


def test_without_gunicorn_the_stream_is_read(client):
    """Flask's test client (any other server): the WSGI stream, as before."""
    path = "/api/models/main.ml_models.iris_classifier/Champion/predict"
    body = json.dumps(SETOSA).encode()
    assert client.post(path, data=body, content_type="application/json").get_json()[
        "predictions"
    ] == [0]


@pytest.mark.parametrize("content_type", ["application/json", "text/csv"])
def test_without_gunicorn_a_body_of_no_stated_length_past_the_limit_is_refused(
    settings, content_type
):
    """Found checking the OpenAPI document's 413: werkzeug's stream stops at the limit, so a
    JSON body was cut there (and answered as JSON broken at column 1001) and a CSV body got
    werkzeug's own REQUEST_ENTITY_TOO_LARGE, a code the API does not document."""
    small = create_app(settings=replace(settings, max_request_bytes=1000)).server
    body = b"[" + b'{"sepal_length": 1},' * 200 + b"{}]"
    answer = small.test_client().post(
        "/api/models/main.ml_models.iris_classifier/1/predict",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code == 413
    assert answer.get_json()["error_code"] == "PAYLOAD_TOO_LARGE"
