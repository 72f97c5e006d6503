"""Hostile JSON bodies: hand-picked and generated, every shape a predict can be sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry.demo import IRIS_FEATURES
from services.scoring.payload import SCORING_FORMATS
from tests.conftest import SETOSA
from tests.hostile.corpus import (
    CHURN_FEATURES,
    CHURN_PREDICT,
    CHURN_ROW,
    IRIS_PREDICT,
    Guard,
    examples,
    json_keys,
    json_leaves,
    json_values,
    shown,
)

# ---------------------------------------------------------------------------------------------
# JSON bodies
# ---------------------------------------------------------------------------------------------

WRONG = [
    None,
    True,
    0,
    -1,
    2**64,
    -(2**63) - 1,
    1.7e308,
    5e-324,
    float("nan"),
    float("inf"),
    "",
    "abc",
    "\x00",
    "😀" * 50,
    "x" * 100_000,
    [],
    [None],
    [1],
    [[1]],
    [[[1]]],
    [{}],
    {},
    {"a": [[[1]]]},
    {"": None},
]
VALID_ROW = [SETOSA[name] for name in IRIS_FEATURES]


def wrong_payloads() -> Iterator[Any]:
    """Every field of every accepted form, with a value of every wrong type."""
    split = {"columns": IRIS_FEATURES, "data": [VALID_ROW]}
    for wrong in WRONG:
        yield {**SETOSA, "sepal_length": wrong}
        yield [SETOSA, wrong]
        yield {"dataframe_records": [wrong]}
        yield {"dataframe_split": {**split, "columns": wrong}}
        yield {"dataframe_split": {**split, "data": wrong}}
        yield {"dataframe_split": {**split, "data": [wrong]}}
        yield {"dataframe_split": {**split, "index": wrong}}
        yield {"inputs": dict.fromkeys(IRIS_FEATURES, wrong)}
        yield {"instances": [SETOSA], "params": wrong}
        for form in SCORING_FORMATS:
            yield {form: wrong}


HAND_PICKED_JSON = [
    {"dataframe_split": {"columns": "abc", "data": 1}},
    {"dataframe_split": {"columns": 5, "data": [[1]]}},
    {"dataframe_split": {"columns": ["a", "a", "b", "c"], "data": [[1, 2, 3, 4]]}},
    {"dataframe_split": {"columns": IRIS_FEATURES, "data": [[1, 2, 3]]}},
    {"inputs": {"a": [[[1]]]}},
    {"inputs": [[1, 2], [1, 2, 3]]},
    {"inputs": [1, [1]]},
    {"instances": "x"},
    {"instances": [SETOSA], "inputs": [SETOSA]},
    {"dataframe_records": [SETOSA], "params": {"a": {"b": [1]}}},
    [[]],
    [None],
    "x",
    {"\x00": 1},
    {"__proto__": {"admin": True}},
]
JSON_CASES = [*wrong_payloads(), *HAND_PICKED_JSON]


@pytest.mark.parametrize("payload", JSON_CASES, ids=[shown(p, 40) for p in JSON_CASES])
def test_hand_picked_json_bodies(guard, payload):
    guard.send(
        "post", IRIS_PREDICT, payload, data=json.dumps(payload), content_type="application/json"
    )
    guard.alive()


def _record(value: str) -> bytes:
    return (
        '{"sepal_length": ' + value + ', "sepal_width": 3.5, "petal_length": 1.4, '
        '"petal_width": 0.2}'
    ).encode()


RAW_JSON = {
    "NaN": _record("NaN"),
    "Infinity": _record("Infinity"),
    "-Infinity": _record("-Infinity"),
    "1e309": _record("1e309"),
    "1.7e308": _record("1.7e308"),
    "2**64": _record(str(2**64)),
    "5000 digits": _record("1" + "0" * 5000),
    "leading zero": _record("01"),
    "bare minus": _record("-"),
    "deep lists": b"[" * 10_000 + b"]" * 10_000,
    "deep 100": b"[" * 100 + b"]" * 100,
    "deep objects": b'{"a":' * 300 + b"1" + b"}" * 300,
    "utf-16": json.dumps(SETOSA).encode("utf-16"),
    "latin-1": '{"sépal": 1}'.encode("latin-1"),
    "bom": b"\xef\xbb\xbf" + json.dumps(SETOSA).encode(),
    "invalid utf-8": b"\xff\xfe{",
    "nul": b"\x00",
    "blank": b"  \n\t ",
    "empty": b"",
    "lone surrogate": b'{"a": "\\ud800"}',
    "two documents": b'{"a": 1}{"b": 2}',
    "duplicate keys": b'{"sepal_length": 1, "sepal_length": "x"}',
    "unterminated": b'{"a": "',
    "single quotes": b"{'sepal_length': 1}",
    "comment": b'// hi\n{"a": 1}',
    "python": b"{'a': None, 'b': True}",
    "one megabyte string": b'{"a": "' + b"x" * 1_000_000 + b'"}',
    "10k records": json.dumps([SETOSA] * 10_000).encode(),
}


@pytest.mark.parametrize("body", RAW_JSON.values(), ids=RAW_JSON.keys())
def test_malformed_json_bytes(guard, body):
    guard.send("post", IRIS_PREDICT, body[:80], data=body, content_type="application/json")
    guard.alive()


CONTENT_TYPES = [
    "text/plain",
    "application/json; charset=latin-1",
    "application/JSON",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "text/csv; charset=utf-16",
    "*/*",
    "application/json\x00",
    "a" * 10_000,
    "application/json, text/csv",
    "application/csv",
    "text/csv",
    "application/vnd.apache.parquet",
    "application/octet-stream",
    "application/json;;;",
    "; charset=utf-8",
    "text/html",
    "application/xml",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=[shown(c, 30) for c in CONTENT_TYPES])
def test_wrong_content_types(guard, content_type):
    response = guard.send(
        "post",
        IRIS_PREDICT,
        content_type,
        data=json.dumps(SETOSA),
        headers={"Content-Type": content_type},
    )
    assert response.status_code in (200, 400, 415), response.status_code
    guard.alive()


def test_missing_content_type(guard):
    """Without a Content-Type the body is either read as JSON (and predicts right) or
    refused as an unsupported media type; nothing else."""
    response = guard.check(
        guard.client.post(IRIS_PREDICT, data=json.dumps(SETOSA)), "no Content-Type", api=True
    )
    if response.status_code == 200:
        assert response.get_json()["predictions"] == [0]
    else:
        assert response.get_json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE", response.data
    guard.alive()


def _post_json(guard: Guard, path: str, value: Any) -> None:
    """Sent as Python's encoder writes it: NaN and Infinity become bare tokens."""
    guard.send("post", path, value, data=json.dumps(value), content_type="application/json")
    guard.alive(every=5)


@examples(150)
@given(value=json_values)
def test_generated_json_bodies(guard, value):
    _post_json(guard, IRIS_PREDICT, value)


def scoring_payload(form: str, body: Any, params: Any) -> dict[str, Any]:
    return {form: body} if params is None else {form: body, "params": params}


split_bodies = st.fixed_dictionaries(
    {},
    optional={
        "columns": json_values | st.lists(st.sampled_from(IRIS_FEATURES), max_size=5),
        "data": json_values | st.lists(st.lists(json_leaves, max_size=5), max_size=3),
        "index": json_values,
    },
)
columnar_bodies = st.dictionaries(
    st.sampled_from(IRIS_FEATURES) | json_keys,
    json_values | st.lists(json_leaves, max_size=3),
    max_size=5,
)


@examples(100)
@given(
    payload=st.builds(
        scoring_payload,
        st.sampled_from(SCORING_FORMATS),
        split_bodies | columnar_bodies | json_values,
        st.none() | json_values,
    )
)
def test_generated_scoring_formats(guard, payload):
    _post_json(guard, IRIS_PREDICT, payload)


@examples(60)
@given(
    churn=st.booleans(),
    changes=st.dictionaries(
        st.sampled_from([*IRIS_FEATURES, *CHURN_FEATURES]),
        json_leaves | json_values,
        min_size=1,
        max_size=3,
    ),
    rows=st.integers(min_value=1, max_value=3),
)
def test_generated_record_values(guard, churn, changes, rows):
    record = {**(CHURN_ROW if churn else SETOSA), **changes}
    _post_json(guard, CHURN_PREDICT if churn else IRIS_PREDICT, [record] * rows)
