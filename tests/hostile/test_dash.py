"""Forged Dash callbacks: store values, callback bodies, history entries, CSV jobs and job
ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layouts.answer import FORM_ANSWER, JSON_ANSWER
from layouts.features.jobs import cancel_button_id
from layouts.ids import Csv, History, Json, Page, history_action
from services.registry.demo import IRIS_MODEL
from tests.conftest import SETOSA
from tests.dash_requests import score_request, started_job
from tests.hostile.corpus import (
    DASH,
    IRIS_SELECTION,
    MARKER,
    base_values,
    callback_key,
    callback_name,
    examples,
    forged_call,
    json_values,
    outputs_of,
    shown,
)
from tests.waiting import until

# ---------------------------------------------------------------------------------------------
# Forged Dash callbacks
# ---------------------------------------------------------------------------------------------


def forgeable(app: Any, store: str) -> list[str]:
    """Server callbacks that read ``store`` and take only plain ids (no background job)."""
    keys = []
    for key, spec in app.callback_map.items():
        deps = [*spec["inputs"], *spec.get("state", [])]
        names = {f"{d['id']}.{d['property']}" for d in deps}
        plain = not any(str(d["id"]).startswith("{") for d in deps) and "{" not in key
        if store in names and plain and not spec.get("background") and spec.get("callback"):
            keys.append(key)
    return keys


FORGED_STORES: dict[str, list[Any]] = {
    f"{Page.SELECTION}.data": [
        "abc",
        [IRIS_MODEL, "1"],
        5,
        {"name": "nope.nope.nope", "version": "1"},
        {"name": IRIS_MODEL, "ref": "../../x", "version": "../../x"},
        {"name": "..", "ref": "1", "version": "1"},
        {"name": ["x"], "ref": {}, "version": "1"},
    ],
    f"{History.SHOWN}.data": ["garbage", 5, {"a": 1}, [None]],
    f"{History.BROWSER}.data": [
        "garbage",
        5,
        {"a": 1},
        [1, None, "x"],
        [{"id": {"a": 1}, "model": ["x"], "time": None}],
    ],
    f"{Csv.FILE}.data": [
        {"file_id": "../../etc/passwd", "filename": "../../etc/passwd"},
        "x",
        ["x"],
        {"file_id": 5},
        {"filename": "a.csv"},
    ],
    f"{Page.OPEN_JOB}.data": [
        "../../etc/passwd",
        "0" * 32,
        "g" * 32,
        5,
        ["x"],
        {"job": "x"},
        "x" * 5000,
    ],
    **{
        f"{panel}-job-shown.data": ["x", 5, {"a": 1}, ["x"]]
        for panel in ("csv", "table", "compare")
    },
    f"{JSON_ANSWER.answered_by}.data": ["x", {"name": ["x"]}, 5],
    f"{Csv.REJECTED}.data": [
        "x",
        {"size": "x", "limit": None},
        {},
        {"size": "x", "limit": None, "message": "m"},  # the size branch's keys, not trusted
        {"message": 5, "hint": "h"},
        {"message": "m", "hint": ["x"]},
        {"message": "x" * 5000},
    ],
    **{
        f"{asked}.data": [
            {"selection": IRIS_SELECTION, "asked": 1},
            {"selection": IRIS_SELECTION, "payload": json.dumps([SETOSA] * 500), "asked": 1},
            {"selection": IRIS_SELECTION, "payload": "{", "asked": 1},
            {"selection": IRIS_SELECTION, "payload": 5, "asked": 1},
            {
                "selection": {"name": "nope.nope.nope", "ref": "1", "version": "1"},
                "payload": json.dumps(SETOSA),
                "asked": 1,
            },
            {
                "selection": IRIS_SELECTION,
                "payload": json.dumps(SETOSA),
                "prediction": {"x": [1]},
                "asked": 1,
            },
            "x",
            [1],
        ]
        for asked in (JSON_ANSWER.asked, FORM_ANSWER.asked)
    },
    f"{Json.TEXT}.value": [
        5,
        ["x"],
        {"a": 1},
        "\x00",
        "[" * 5000,
        json.dumps({"dataframe_split": {"columns": 5, "data": [[1]]}}),
    ],
}
FORGED_CASES = [(store, value) for store, values in FORGED_STORES.items() for value in values]


@pytest.mark.parametrize(
    ("store", "value"), FORGED_CASES, ids=[f"{s}={shown(v, 40)}" for s, v in FORGED_CASES]
)
def test_forged_store_values(guard, hostile_app, store, value):
    """Every callback that reads the store gets the forged value (the rest of the page is
    good); every answer is listed."""
    keys = forgeable(hostile_app, store)
    assert keys, f"no callback reads {store}"
    found = []
    for key in keys:
        body = forged_call(hostile_app, key, {**base_values(), store: value})
        response = guard.client.post(DASH, json=body)
        found += guard.problems(response, (callback_name(hostile_app, key), value), api=False)
        guard.alive()
    assert not found, f"{len(found)} of {len(keys)} callbacks:\n" + "\n".join(found)


@examples(80)
@given(data=st.data())
def test_generated_store_values(guard, hostile_app, data):
    store = data.draw(st.sampled_from(sorted(FORGED_STORES)))
    key = data.draw(st.sampled_from(forgeable(hostile_app, store)))
    value = data.draw(json_values)
    response = guard.client.post(
        DASH, json=forged_call(hostile_app, key, {**base_values(), store: value})
    )
    guard.check(response, (callback_name(hostile_app, key), store, value), api=False)
    guard.alive(every=5)


def _json_predict(app: Any, **changes: Any) -> dict[str, Any]:
    return forged_call(app, callback_key(app, "predict_json"), {**base_values(), **changes})


MALFORMED_DASH: dict[str, Callable[[Any], Any]] = {
    "not json": lambda app: b"{",
    "invalid utf-8": lambda app: b"\xff",
    "a list": lambda app: b"[]",
    "null": lambda app: b"null",
    "empty object": lambda app: b"{}",
    "a string": lambda app: b'"x"',
    "unknown output": lambda app: {
        "output": "nope.children",
        "outputs": {"id": "nope", "property": "children"},
        "inputs": [],
        "changedPropIds": [],
    },
    "missing inputs": lambda app: {k: v for k, v in _json_predict(app).items() if k != "inputs"},
    "missing outputs": lambda app: {k: v for k, v in _json_predict(app).items() if k != "outputs"},
    "missing state": lambda app: {k: v for k, v in _json_predict(app).items() if k != "state"},
    "missing changedPropIds": lambda app: {
        k: v for k, v in _json_predict(app).items() if k != "changedPropIds"
    },
    "inputs not a list": lambda app: {**_json_predict(app), "inputs": "x"},
    "state of dicts without value": lambda app: {**_json_predict(app), "state": [{"id": "x"}] * 3},
    "too few states": lambda app: {**_json_predict(app), "state": []},
    "outputs a string": lambda app: {**_json_predict(app), "outputs": "x"},
    "output of another callback": lambda app: {
        **_json_predict(app),
        "output": f"{Json.ACTIVE}.children",
    },
    "changedPropIds garbage": lambda app: {**_json_predict(app), "changedPropIds": [5, None]},
    "2 MB of text": lambda app: _json_predict(
        app, **{f"{Json.TEXT}.value": "[" + "1," * 1_000_000 + "1]"}
    ),
}


@pytest.mark.parametrize("build", MALFORMED_DASH.values(), ids=MALFORMED_DASH.keys())
def test_malformed_callback_bodies(guard, hostile_app, build):
    body = build(hostile_app)
    kwargs = (
        {"data": body, "content_type": "application/json"}
        if isinstance(body, bytes)
        else {"json": body}
    )
    guard.send("post", DASH, shown(body, 120), **kwargs)
    guard.alive()


@examples(40)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["output", "outputs", "inputs", "state", "changedPropIds", "parsedChangedPropsIds"]
        ),
        json_values,
        max_size=5,
    )
)
def test_generated_callback_bodies(guard, body):
    guard.send("post", DASH, body, json=body)
    guard.alive(every=5)


def handed_over(app: Any, entries: Any) -> dict[str, Any]:
    """Runs "an older version kept in this browser" (forged here) handed to the server."""
    return forged_call(
        app, callback_key(app, "take_from_browser"), {f"{History.BROWSER}.data": entries}
    )


def history_act(app: Any, action: str, entry_id: str = "e1") -> dict[str, Any]:
    """ "Open" or "Run again" pressed on one of the person's runs."""
    key = callback_key(app, "act")
    ident = history_action(action, entry_id)
    return {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": [[{"id": ident, "property": "n_clicks", "value": 1}]],
        "state": [],
        "changedPropIds": [json.dumps(ident, sort_keys=True, separators=(",", ":")) + ".n_clicks"],
    }


ENTRY = {
    "id": "e1",
    "time": "2026-01-01T00:00:00",
    "source": "json",
    "model": IRIS_MODEL,
    "version": "1",
    "ref": "1",
    "alias": None,
    "outcome": "ok",
    "preview": "0",
    "input": json.dumps(SETOSA),
}
FORGED_ENTRIES = [
    ("open", {"id": "e1"}),
    ("open", {**ENTRY, "results": {"csv": "../../etc/passwd"}}),
    ("open", {**ENTRY, "results": "x"}),
    ("rerun", {**ENTRY, "model": "../../x"}),
    ("rerun", {**ENTRY, "model": ".."}),
    ("rerun", {**ENTRY, "version": {"a": 1}}),
    ("rerun", {**ENTRY, "input": 5}),
    ("rerun", {**ENTRY, "input": '{"dataframe_split": {"columns": 5, "data": [[1]]}}'}),
    ("rerun", {"id": "e1", "input": "{}"}),
    ("rerun", {**{k: v for k, v in ENTRY.items() if k != "input"}, "upload": "../../etc/passwd"}),
    ("rerun", {"id": "e1"}),
    ("nope", ENTRY),
]


@pytest.mark.parametrize(
    ("action", "entry"), FORGED_ENTRIES, ids=[f"{a}-{shown(e, 50)}" for a, e in FORGED_ENTRIES]
)
def test_forged_history_entries(guard, hostile_app, action, entry):
    """A forged run handed over as the browser's own, then opened or run again."""
    guard.send("post", DASH, ("hand over", entry), json=handed_over(hostile_app, [entry]))
    guard.send("post", DASH, (action, entry), json=history_act(hostile_app, action))
    guard.alive()


FORGED_JOBS = [
    ({"file_id": "../../etc/passwd", "filename": "passwd"}, IRIS_SELECTION, "csv"),
    ("x", IRIS_SELECTION, "csv"),
    (None, "abc", "csv"),
    (None, {"name": "..", "ref": "1", "version": "1"}, "csv"),
    (None, IRIS_SELECTION, "../x"),
    ({"file_id": None}, IRIS_SELECTION, "parquet"),
    (None, IRIS_SELECTION, "parquet"),
]


@pytest.mark.parametrize(
    ("file_info", "selection", "fmt"), FORGED_JOBS, ids=[shown(j, 60) for j in FORGED_JOBS]
)
def test_forged_csv_jobs(guard, hostile_app, iris_upload, file_info, selection, fmt):
    """Predict from CSV with a forged file store, selection or format: refused in words at
    once, or a job that ends with nothing leaked in its record."""
    file_info = file_info or {"file_id": iris_upload, "filename": "iris.csv"}
    body = score_request(hostile_app, file_info, selection, fmt)
    answer = guard.send("post", DASH, (file_info, selection, fmt), json=body)
    assert MARKER not in answer.get_data(as_text=True)
    job = started_job(answer) if answer.status_code == 200 else None
    if job is not None:
        record = until(lambda: _finished(guard.client.get(f"/api/jobs/{job}")), 60)
        guard.check(record, (file_info, selection, fmt), api=True)
        assert record.get_json()["state"] == "succeeded", record.get_json()
    guard.alive()


def _finished(record: Any) -> Any:
    """The job's record once it has stopped running, else None."""
    return None if record.get_json()["state"] in ("queued", "running") else record


def test_a_changed_property_that_names_no_property_is_refused(guard, hostile_app):
    """What Dash would parse as JSON and fail on (a 500) is refused before it sees it."""
    body = history_act(hostile_app, "open")
    body["changedPropIds"] = ['{"action":"open","entry":"e1","type":"hist']
    answer = guard.send("post", DASH, "changed id cut short", json=body)
    assert answer.status_code == 400
    guard.alive()


FORGED_JOB_IDS = ["../../etc/passwd", "0" * 32, "G" * 32, "", "x" * 3000, "%00", "..%2f.."]


@pytest.mark.parametrize("job_id", FORGED_JOB_IDS, ids=[shown(j, 30) for j in FORGED_JOB_IDS])
def test_forged_job_ids_in_cancel_history_and_api(guard, hostile_app, job_id):
    """A job id that is not one of the caller's is "not found" wherever it is sent."""
    cancel = {"type": "job-cancel", "job": job_id, "at": "csv"}
    key = callback_key(hostile_app, "cancel_listed")
    body = {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": [[{"id": cancel, "property": "n_clicks", "value": 1}]],
        "state": [],
        "changedPropIds": [json.dumps(cancel, sort_keys=True, separators=(",", ":")) + ".n_clicks"],
    }
    guard.send("post", DASH, ("cancel", job_id), json=body)
    for action in ("open-job", "rerun-job"):
        forged = history_act(hostile_app, action, ENTRY)
        ident = history_action(action, job_id)
        forged["inputs"] = [[{"id": ident, "property": "n_clicks", "value": 1}]]
        forged["changedPropIds"] = [
            json.dumps(ident, sort_keys=True, separators=(",", ":")) + ".n_clicks"
        ]
        guard.send("post", DASH, (action, job_id), json=forged)
    for method in ("get", "delete"):
        answer = guard.send(method, f"/api/jobs/{job_id}", (method, job_id))
        assert answer.status_code in (404, 405), answer.get_data(as_text=True)[:200]
    assert cancel_button_id(job_id, "csv") == cancel
    guard.alive()
