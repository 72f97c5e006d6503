"""mlflow-basic: malformed Authorization headers against a real MLflow basic-auth server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import create_app
from tests.auth_server import AuthServer
from tests.conftest import SETOSA, basic_header, mlflow_basic_settings
from tests.hostile.corpus import (
    FORMULA,
    PASSWORD,
    TOKEN,
    Guard,
    forbidden_paths,
    formula_cells,
)

# ---------------------------------------------------------------------------------------------
# mlflow-basic: malformed Authorization headers against a real MLflow basic-auth server
# ---------------------------------------------------------------------------------------------


def b64(text: str | bytes) -> str:
    import base64

    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def authorization(server: AuthServer, shape: str) -> list[tuple[str, str]]:
    """The Authorization header(s) of one shape, with alice's (or bob's) real password."""
    alice, bob = server.passwords["alice"], server.passwords["bob"]
    good = f"alice:{alice}"
    values = {
        "alice": [f"Basic {b64(good)}"],
        "alice, lowercase scheme": [f"basic {b64(good)}"],
        "bob spoofing the admin": [f"Basic {b64(f'bob:{bob}')}"],
        "bob then alice": [f"Basic {b64(f'bob:{bob}')}", f"Basic {b64(good)}"],
        "none": [],
        "empty": [""],
        "scheme only": ["Basic"],
        "scheme and space": ["Basic "],
        "not base64": ["Basic !!!"],
        "no colon": [f"Basic {b64('alice')}"],
        "empty user": [f"Basic {b64(':' + alice)}"],
        "empty password": [f"Basic {b64('alice:')}"],
        "wrong password": [f"Basic {b64('alice:' + PASSWORD)}"],
        "admin, wrong password": [f"Basic {b64('admin:' + PASSWORD)}"],
        "unknown user": [f"Basic {b64('mallory:' + PASSWORD)}"],
        "latin-1 bytes": [f"Basic {b64('ä:pw'.encode('latin-1'))}"],
        "unicode user": [f"Basic {b64('模型:' + PASSWORD)}"],
        "unicode password": [f"Basic {b64(good + '模')}"],
        "nul in user": [f"Basic {b64('ali' + chr(0) + 'ce:' + alice)}"],
        "newline in user": [f"Basic {b64('alice' + chr(10) + ':' + alice)}"],
        "double space": [f"Basic  {b64(good)}"],
        "trailing junk": [f"Basic {b64(good)} junk"],
        "bearer": [f"Bearer {TOKEN}"],
        "bearer with the password": [f"Bearer {alice}"],
        "digest": ['Digest username="alice", realm="x", nonce="1", response="2"'],
        "40 kB": [f"Basic {b64('a' * 20_000 + ':' + 'b' * 20_000)}"],
        "sql user": [f"Basic {b64(chr(39) + ' OR 1=1--:' + PASSWORD)}"],
        "password with a colon": [f"Basic {b64(good + ':extra')}"],
        "two schemes": [f"Basic {b64(good)}, Bearer {TOKEN}"],
    }
    return [("Authorization", value) for value in values[shape]]


AUTH_EXPECTED = {
    "alice": (200,),
    "alice, lowercase scheme": (200,),
    "bob spoofing the admin": (403,),
    "bob then alice": (401, 403),
}
AUTH_SHAPES = [
    "alice",
    "alice, lowercase scheme",
    "bob spoofing the admin",
    "bob then alice",
    "none",
    "empty",
    "scheme only",
    "scheme and space",
    "not base64",
    "no colon",
    "empty user",
    "empty password",
    "wrong password",
    "admin, wrong password",
    "unknown user",
    "latin-1 bytes",
    "unicode user",
    "unicode password",
    "nul in user",
    "newline in user",
    "double space",
    "trailing junk",
    "bearer",
    "bearer with the password",
    "digest",
    "40 kB",
    "sql user",
    "password with a colon",
    "two schemes",
]


@pytest.fixture(scope="module")
def basic_guard(auth_server, tmp_path_factory) -> Guard:
    data_dir = tmp_path_factory.mktemp("hostile-basic")
    app = create_app(settings=mlflow_basic_settings(auth_server, data_dir))
    secrets = {f"{user}'s password": pw for user, pw in auth_server.passwords.items()}
    secrets |= {
        "the admin password": auth_server.admin[1],
        "the test token": TOKEN,
        "the test password": PASSWORD,
    }
    return Guard(
        app.server.test_client(),
        {**forbidden_paths(data_dir), **secrets},
        good_path=f"/api/models/{auth_server.models['X']}/Champion/predict",
        good_headers=basic_header("alice", auth_server.passwords["alice"]),
    )


@pytest.mark.slow
@pytest.mark.parametrize("shape", AUTH_SHAPES)
def test_malformed_authorization_in_mlflow_basic(basic_guard, auth_server, shape):
    """Only a right password lets a request through, as that user; every other shape is a
    401 that asks for Basic credentials, on the API and on the UI, and never echoes a
    secret."""
    headers = [
        *authorization(auth_server, shape),
        ("X-Forwarded-Email", auth_server.admin[0]),
        ("X-Forwarded-Access-Token", TOKEN),
    ]
    predict = basic_guard.good_path
    expected = AUTH_EXPECTED.get(shape, (401,))
    for method, path, kwargs in (
        ("post", predict, {"json": SETOSA}),
        ("get", "/", {}),
        ("get", "/_dash-layout", {}),
    ):
        response = basic_guard.send(method, path, shape, headers=headers, **kwargs)
        allowed = (200, 401) if 403 in expected and path != predict else expected
        assert response.status_code in allowed, (shape, path, response.data[:200])
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Basic")
    basic_guard.alive()


def test_corpus_checker_catches_what_it_must(guard, settings):
    """The checks themselves: a 5xx, an API error without a code, a traceback, an exception
    class, a data folder path (escaped as Dash writes it), a token and a formula cell are
    each caught, so a green run means something."""

    class Fake:
        def __init__(self, status: int, body: str, mimetype: str = "application/json") -> None:
            self.status_code, self.mimetype, self._body = status, mimetype, body.encode()
            self.headers = {"Content-Type": mimetype}
            self.is_json = mimetype == "application/json"

        def get_data(self, as_text: bool = False) -> Any:
            return self._body.decode() if as_text else self._body

        def get_json(self, silent: bool = False) -> Any:
            return json.loads(self._body) if self.is_json else None

    path = json.dumps(f"sqlite:///{settings.app_data_dir}/registry.db").replace("/", "\\u002f")
    cases = {
        "5xx": Fake(503, '{"error_code": "X", "message": "m"}'),
        "no error_code": Fake(400, '{"message": "m"}'),
        "traceback": Fake(200, "Traceback (most recent call last):", "text/plain"),
        "exception": Fake(400, '{"error_code": "X", "message": "raised ValueError: x"}'),
        "path": Fake(200, '{"m": ' + path + "}"),
        "token": Fake(401, json.dumps({"error_code": "X", "message": TOKEN})),
    }
    for name, response in cases.items():
        assert guard.problems(response, name, api=True), name
    assert not guard.problems(Fake(404, '{"error_code": "X", "message": "m"}'), "ok", api=True)
    assert formula_cells(f'a,b\n"{FORMULA}",-1\n') == [FORMULA]
    assert formula_cells("a,b\n'=1+1,-1.5e3\n") == []
