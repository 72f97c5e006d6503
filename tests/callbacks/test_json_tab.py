"""The JSON tab's callbacks called as plain functions, on the real services and registry."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
from dash import no_update

from callbacks.features.whatif import WhatIfCallbacks
from callbacks.json_tab import JsonCallbacks
from layouts.ids import form_field
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.explain.service import ExplainService
from services.registry.demo import IRIS_MODEL
from tests.callbacks.test_tabs import (  # noqa: F401 (a fixture)
    CHURN,
    IRIS,
    signed_in,
    text_of,
    triggered_by,
)
from tests.conftest import SETOSA


def json_callbacks(services) -> JsonCallbacks:
    return JsonCallbacks(services, lambda file_id: f"/api/files/{file_id}")


def test_live_validation_messages(services):
    callbacks = json_callbacks(services)
    status, disabled, problem = callbacks.validate(json.dumps(SETOSA), IRIS)
    assert "valid — 1 record, 4 features" in text_of(status) and disabled is False
    status, disabled, problem = callbacks.validate('{\n  "a": 1,\n}', IRIS)
    assert "Invalid JSON at line 2, column 9" in text_of(status) and disabled is True
    assert (problem["line"], problem["column"]) == (2, 9)  # marked in the editor
    assert "No model is loaded" in text_of(callbacks.validate("{}", None)[0])


def test_predict_json_renders_result_and_adds_history(services):
    result, _, entry, answered, asked = json_callbacks(services).predict_json(
        1, json.dumps([SETOSA] * 2), IRIS
    )
    assert asked is None  # a batch's charts come with its answer
    assert '"predictions": [0, 0]' in text_of(result)
    assert '"labels": ["setosa", "setosa"]' in text_of(result)
    assert entry["source"] == "JSON" and entry["rows"] == 2
    assert entry["preview"] == "0 · setosa, 0 · setosa" and answered == IRIS


def test_one_row_answer_comes_first_and_its_confidence_and_explanation_follow(services):
    """The answer is on screen before the model's probabilities and the explanation are
    worked out; the follow-up fills them in, computed again on the server."""
    callbacks = json_callbacks(services)
    result, _, _, _, asked = callbacks.predict_json(1, json.dumps(SETOSA), IRIS)
    shown = text_of(result)
    assert "0 · setosa" in shown and "Working out how sure the model is" in shown
    assert '"probabilities"' not in shown and "%" not in shown  # not predicted yet
    assert json.loads(asked["payload"]) == SETOSA and asked["selection"] == IRIS
    sure, parts = callbacks.explain_answer(asked, Source.JSON)
    model = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "1")[1]
    expected = model.pyfunc.get_raw_model().predict_proba(pd.DataFrame([SETOSA]))[0]
    assert sure == f" ({expected.max():.1%})"
    figures = json.dumps([p.to_plotly_json() for p in parts if p is not None], default=str)
    assert "chart-probabilities" in figures and "chart-waterfall" in figures


def test_a_row_that_cannot_be_explained_still_shows_how_sure_the_model_is(services):
    """An explanation over its time limit (here: no time at all) says so; the class
    probabilities are still worked out (their own audited use)."""
    callbacks = json_callbacks(services)
    callbacks.explain = ExplainService(services.scoring, services.registry, seconds=-1)
    asked = {"selection": IRIS, "payload": json.dumps(SETOSA), "prediction": 0, "asked": 1}
    sure, parts = callbacks.explain_answer(asked, Source.JSON)
    assert sure == " (100.0%)"
    shown = json.dumps([p.to_plotly_json() for p in parts if p is not None], default=str)
    assert "chart-probabilities" in shown and "chart-waterfall" not in shown
    assert "No explanation: Explaining stopped after 0 of 1 rows" in text_of(parts)
    actions = [row["action"] for row in services.audit.rows(model=IRIS_MODEL)[-2:]]
    assert actions == ["explain", "probabilities"]


def test_a_row_that_cannot_be_read_says_why_and_shows_no_confidence(services):
    callbacks = json_callbacks(services)
    row = json.dumps({**SETOSA, "sepal_width": "wide"})
    sure, parts = callbacks.explain_answer(
        {"selection": IRIS, "payload": row, "asked": 1}, Source.JSON
    )
    assert sure == "" and "sepal_width" in text_of(parts)


def test_the_follow_up_explains_the_row_as_typed_not_as_the_page_rounds_it(services):
    """The page keeps the row as the text typed (its numbers are JavaScript doubles)."""
    callbacks = json_callbacks(services)
    text = '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'
    *_, asked = callbacks.predict_json(1, text, IRIS)
    assert asked["payload"] == text


def test_the_follow_up_refuses_more_than_one_row(services):
    callbacks = json_callbacks(services)
    many = {"selection": IRIS, "payload": json.dumps([SETOSA] * 3), "asked": 1}
    sure, parts = callbacks.explain_answer(many, Source.JSON)
    assert sure == "" and "one row at a time" in text_of(parts)


def test_predict_json_error_is_a_failed_history_entry(services):
    result, _, entry, _, asked = json_callbacks(services).predict_json(
        1, '{"sepal_length": 1}', IRIS
    )
    assert asked is None
    assert "Missing required columns" in text_of(result)
    assert entry["outcome"] == "failed" and "Missing required" in entry["message"]
    assert entry["input"] == '{"sepal_length": 1}'  # kept, to run it again


def test_form_fields_follow_the_signature_and_predict(services):
    callbacks = json_callbacks(services)
    fields = callbacks.build_form(CHURN).to_plotly_json()
    assert "is_member" in json.dumps(fields, default=str)
    ids = [form_field(name) for name in SETOSA]
    texts = [str(value) for value in SETOSA.values()]
    form = {"values": texts, "ids": ids, "switches": [], "switch_ids": []}
    result, _, entry, _, asked = callbacks.predict_form(1, form, IRIS)
    assert '"predictions": [0]' in text_of(result) and "0 · setosa" in text_of(result)
    assert entry["source"] == "form" and json.loads(asked["payload"]) == SETOSA


def test_form_fields_read_by_the_apis_rules_before_anything_is_sent(services):
    callbacks = json_callbacks(services)
    ids = [form_field(name) for name in SETOSA]
    invalid, feedback, disabled, status = callbacks.check_form(["", "3,5", "abc", "0.2"], ids, IRIS)
    assert invalid == [True, True, True, False] and disabled is True
    assert feedback[:3] == [
        "Required: fill in a value.",
        "Use a dot for decimals: 3.5",
        "Not a number.",
    ]
    assert "3 fields need attention" in text_of(status)
    form = {"values": ["", "3,5", "abc", "0.2"], "ids": ids, "switches": [], "switch_ids": []}
    result, _, entry, _, _ = callbacks.predict_form(1, form, IRIS)
    assert "3 fields need attention" in text_of(result) and entry is no_update


def test_a_what_if_field_that_cannot_be_read_leaves_the_reason_to_the_form(services):
    """The field and the line above Predict say what is wrong; the answer's place says when
    an answer comes back instead of the same words a third time."""
    callbacks = WhatIfCallbacks(services.explain, services.scoring)
    ids = [form_field(name) for name in SETOSA]
    form = {"values": ["5.1", "abc", "1.4", "0.2"], "ids": ids, "switches": [], "switch_ids": []}
    field = json.dumps(form_field("sepal_width"), sort_keys=True, separators=(",", ":"))
    answer, *_ = triggered_by(field, "value", partial(callbacks.what_if, **form), None, IRIS)
    assert text_of(answer) == "The answer comes back as soon as every field reads."
