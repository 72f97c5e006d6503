"""The hostile corpus: what every case is checked for, and what its files share.

A hostile corpus against the real console, as an attacker would send it.

Hundreds of hand-picked and generated (Hypothesis, derandomized) requests go through Flask's
test client to an app built by ``create_app`` on the real SQLite registry with really trained
models: JSON and CSV bodies of every wrong shape, hostile model names, references, file ids,
filenames and result formats, weird Content-Length, Host, X-Forwarded-* and Authorization
headers, forged Dash callback bodies and store values, and (slow, against a real MLflow
basic-auth server) every malformed Authorization header.

For every case it proves: no 5xx; under /api an error is JSON with ``error_code`` and
``message``; no body or header carries a traceback, a Python exception class, a path of the
server's data folders or a password or token the test sent; CSV results hold no cell a
spreadsheet would run; and afterwards the app still answers the good request (iris version 1,
a setosa flower → ``[0]``).
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from layouts.ids import Csv, History, Json, Page
from services.registry.demo import CHURN_MODEL, IRIS_FEATURES, IRIS_MODEL
from services.scoring.payload import SCORING_FORMATS
from tests.conftest import SETOSA

IRIS_PREDICT = f"/api/models/{IRIS_MODEL}/1/predict"
CHURN_PREDICT = f"/api/models/{CHURN_MODEL}/1/predict"
DASH = "/_dash-update-component"
CHURN_FEATURES = ["age", "income", "tenure_months", "usage_gb", "city", "is_member"]
CHURN_ROW = {
    "age": 41,
    "income": 52000.0,
    "tenure_months": 18,
    "usage_gb": 12.5,
    "city": "Paris",
    "is_member": True,
}
IRIS_HEADER = ",".join(IRIS_FEATURES)
CHURN_HEADER = ",".join(CHURN_FEATURES)
IRIS_SELECTION = {"name": IRIS_MODEL, "ref": "1", "version": "1", "alias": None}
TOKEN = "tok-hostile-4c1d9e7b5a"  # sent in headers; must never come back
PASSWORD = "pw-hostile-8a3f2e61d0"
FORMULA = "=cmd|' /C calc'!A0"

EXCEPTION_DUMP = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|<class '[\w.]+'>"
    r"|\b[A-Z]\w*(?:Error|Exception)\b|\b(?:StopIteration|KeyboardInterrupt|SystemExit)\b"
)
SPREADSHEET_FORMULA = ("=", "+", "@", "\t", "\r")


def examples(count: int) -> hypothesis_settings:
    """Repeatable and quick: the same examples every run, no example database on disk."""
    return hypothesis_settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def shown(case: object, limit: int = 240) -> str:
    text = repr(case)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def visible_text(response: Any) -> str:
    """Everything a client can read: headers and body, raw, HTML-unescaped and, for JSON,
    with its escapes decoded (Dash writes ``/`` as ``\\u002f``)."""
    raw = response.get_data().decode("utf-8", "replace")
    parts = [raw, html.unescape(raw), *(f"{k}: {v}" for k, v in response.headers.items())]
    if response.is_json:
        with contextlib.suppress(ValueError):
            parts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return "\n".join(parts)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def formula_cells(text: str) -> list[str]:
    """Cells of a CSV result a spreadsheet would run as a formula (a negative number is
    not one; ``-1+1`` is)."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))
    risky = []
    for row in csv.reader(io.StringIO(text.replace("\x00", ""), newline="")):
        for cell in row:
            if cell.startswith(SPREADSHEET_FORMULA) or (
                cell.startswith("-") and not is_number(cell)
            ):
                risky.append(cell)
    return risky


@dataclass(repr=False)
class Guard:
    """A client and what it must never see; checks one response, or that the app still
    answers the good request."""

    client: Any
    forbidden: dict[str, str]  # what it is → the text that must not appear
    good_path: str = IRIS_PREDICT
    good_body: Mapping[str, Any] = field(default_factory=lambda: dict(SETOSA))
    good_headers: Mapping[str, str] | None = None
    calls: int = 0

    def __repr__(self) -> str:
        return f"Guard({self.good_path})"

    def problems(self, response: Any, case: object, *, api: bool) -> list[str]:
        text = visible_text(response)
        where = f"{shown(case)} → {response.status_code} {response.mimetype}: {text[:300]!r}"
        found = []
        if response.status_code >= 500:
            found.append(f"5xx: {where}")
        if api and response.status_code >= 400:
            body = response.get_json(silent=True)
            if not (
                isinstance(body, dict)
                and isinstance(body.get("error_code"), str)
                and isinstance(body.get("message"), str)
                and body["message"]
            ):
                found.append(f"API error without JSON error_code and message: {where}")
        if dump := EXCEPTION_DUMP.search(text):
            found.append(f"exception text {dump.group(0)!r}: {where}")
        found += [
            f"leaks {what}: {where}" for what, secret in self.forbidden.items() if secret in text
        ]
        return found

    def check(self, response: Any, case: object, *, api: bool) -> Any:
        found = self.problems(response, case, api=api)
        assert not found, "\n".join(found)
        return response

    def send(self, method: str, path: str, case: object = None, **kwargs: Any) -> Any:
        response = getattr(self.client, method)(path, **kwargs)
        return self.check(response, (method.upper(), path, case), api=path.startswith("/api/"))

    def csv_result(self, response: Any, case: object) -> None:
        """A CSV result: no formula a spreadsheet would run, anywhere in it."""
        risky = formula_cells(response.get_data().decode("utf-8", "replace"))
        assert not risky, f"formula cells {risky[:3]!r} in the result of {shown(case)}"

    def alive(self, every: int = 1) -> None:
        """The good request still answers; with ``every``, once in that many calls (a batch
        of generated examples)."""
        self.calls += 1
        if self.calls % every:
            return
        response = self.client.post(
            self.good_path, json=dict(self.good_body), headers=dict(self.good_headers or {})
        )
        assert response.status_code == 200, f"the good request now fails: {response.data[:300]}"
        assert response.get_json()["predictions"] == [0]


def forbidden_paths(*folders: Path) -> dict[str, str]:
    found = {}
    for folder in folders:
        for form in (str(folder), str(folder.resolve())):
            found[f"the data folder {form}"] = form
    return found


HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "\u202e",
    "😀",
    "é",
    "../../etc/passwd",
    "%2e%2e%2f",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    FORMULA,
    "NaN",
    "Infinity",
    "1e309",
    "null",
    "true",
    "x" * 5_000,
    "\ud800",
]
BIG_NUMBERS = [2**63, 2**64, -(2**63) - 1, 10**30, 1e308, -1e308, 1.7976931348623157e308, 5e-324]
json_keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [*IRIS_FEATURES, *CHURN_FEATURES, *SCORING_FORMATS, "params", "columns", "data", "index"]
    ),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(BIG_NUMBERS),
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=4)
    ),
    max_leaves=25,
)


def iris_csv(*rows: str) -> bytes:
    return "\n".join([IRIS_HEADER, *rows, ""]).encode()


def churn_csv(*rows: str) -> bytes:
    return "\n".join([CHURN_HEADER, *rows, ""]).encode()


DEFAULT_VALUES = {"n_clicks": 1, "pathname": "/", "n_intervals": 1}


def outputs_of(key: str) -> dict[str, str] | list[dict[str, str]]:
    """The ``outputs`` the renderer sends for a callback_map key (a list when several)."""

    def one(part: str) -> dict[str, str]:
        ident, prop = part.split(".", 1)
        return {"id": ident, "property": prop}

    return [one(p) for p in key.strip(".").split("...")] if key.startswith("..") else one(key)


def base_values() -> dict[str, Any]:
    """A page with iris loaded and good input everywhere: one store at a time is forged."""
    return {
        f"{Json.TEXT}.value": json.dumps(SETOSA),
        f"{Page.SELECTION}.data": IRIS_SELECTION,
        f"{History.BROWSER}.data": [],
        f"{Csv.RESULT_FORMAT}.value": "csv",
    }


def forged_call(app: Any, key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The body for callback ``key`` with ``values`` ("id.prop" → value), triggered by its
    first input; what is not given is a click, the page's path, or empty."""
    spec = app.callback_map[key]

    def dep(item: Mapping[str, Any]) -> dict[str, Any]:
        name = f"{item['id']}.{item['property']}"
        value = values.get(name, DEFAULT_VALUES.get(item["property"]))
        return {"id": str(item["id"]), "property": item["property"], "value": value}

    inputs = [dep(item) for item in spec["inputs"]]
    return {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": inputs,
        "state": [dep(item) for item in spec.get("state", [])],
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }


def callback_name(app: Any, key: str) -> str:
    """A callback as a person reads it: its function and its first output."""
    function = getattr(app.callback_map[key].get("callback"), "__name__", "?")
    first = outputs_of(key)
    first = first[0] if isinstance(first, list) else first
    return f"{function} → {first['id']}.{first['property'].split('@')[0]}"


def callback_key(app: Any, function: str) -> str:
    return next(
        key
        for key, spec in app.callback_map.items()
        if getattr(spec.get("callback"), "__name__", None) == function
    )


MARKER = f"hostile-marker-{uuid.uuid4().hex}"  # in the uploaded file: must not leak elsewhere
