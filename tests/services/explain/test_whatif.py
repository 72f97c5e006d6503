"""What-if on the form as a service and as components: one form row predicted, explained and
swept in one call, each audited; sliders bounded by the training range."""

from __future__ import annotations

from dataclasses import replace

from cachelib import SimpleCache

from layouts.features.whatif import controls, slider_text
from services.access.audit import AuditLog
from services.registry.demo import CHURN_MODEL, HOUSE_PRICE_MODEL, churn_frame, house_frame
from services.wiring import build_services


def test_one_row_is_predicted_explained_and_swept_and_each_is_audited(settings, tmp_path, caller):
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    services = build_services(replace(settings, app_data_dir=tmp_path), SimpleCache(), audit)
    record = churn_frame(1, seed=5).to_dict("records")[0]
    answer = services.explain.what_if(caller, CHURN_MODEL, "1", record, "tenure_months")
    top = max(answer.predictions.probabilities[0].values())
    assert answer.explanation["method"] == "linear" and answer.labels == {
        "0": "stays",
        "1": "leaves",
    }
    assert abs(answer.curve.current_output - top) < 1e-5  # the marked point is the answer shown
    assert answer.curve.target in ("0 · stays", "1 · leaves")
    assert answer.curve.current == record["tenure_months"]
    rows = audit.rows()
    audit.close()
    assert sorted(r["action"] for r in rows) == ["explain", "predict", "what-if"]
    assert {r["outcome"] for r in rows} == {"ok"}


def test_a_regressor_sweeps_its_predicted_value(services, caller):
    record = house_frame(1, seed=2).to_dict("records")[0]
    answer = services.explain.what_if(caller, HOUSE_PRICE_MODEL, "1", record, "living_area_sqm")
    assert answer.predictions.probabilities is None
    assert answer.curve.target is None and answer.curve.explained_output == "predicted value"
    assert abs(answer.curve.current_output - answer.predictions.predictions[0]) < 1e-6
    assert services.explain.what_if(caller, HOUSE_PRICE_MODEL, "1", record, None).curve is None


def test_sliders_span_the_training_range_and_lists_hold_its_categories(services, caller):
    space = services.explain.what_if_space(caller, CHURN_MODEL, "1")
    made = controls([r.to_dict() for r in space.ranges], {"age": 200, "city": "Atlantis"})
    age = {r.feature: r for r in space.ranges}["age"]
    assert (made["age"].min, made["age"].max, made["age"].step) == (age.low, age.high, 1)
    assert made["age"].value == age.high  # clamped: the text field keeps 200
    assert [o["value"] for o in made["city"].options] == [
        "Berlin",
        "Lisbon",
        "Madrid",
        "Paris",
        "Rome",
    ]
    assert made["city"].value == ""  # free text not in the list: the list shows none
    assert "is_member" not in made  # the switch needs no slider
    assert slider_text(5.1000000000000005, whole=False) == "5.1"
    assert slider_text(41.0, whole=True) == "41"


def test_the_panel_says_when_ranges_come_from_the_input_example(services, registry_dir, flask_app):
    from flask import g

    from callbacks.features.whatif import WhatIfCallbacks
    from services.access.caller import LOCAL_CALLER
    from services.settings import embedded_tracking_uri
    from tests.callbacks.test_tabs import text_of
    from tests.explain_models import FORMULA_MODEL, register_explain_models

    register_explain_models(embedded_tracking_uri(registry_dir), registry_dir)
    panel = WhatIfCallbacks(services.explain, services.scoring).panel
    selection = {"name": FORMULA_MODEL, "ref": "2", "version": "2", "alias": None}
    with flask_app.test_request_context():
        g.model_console_caller = LOCAL_CALLER  # the caller the server decided
        options, first, note, _ = panel(selection)
        assert "no training reference" in text_of(note)
        assert "input example (3 rows)" in text_of(note)
        assert first == "living_area_sqm" and len(options) == 4
        _, _, note, _ = panel({**selection, "ref": "1", "version": "1"})
        assert "training reference, 300 rows" in text_of(note)
