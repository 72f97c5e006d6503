"""Explanations on real trained models of each kind: additivity, one-hot columns summed back,
the training reference and its fallback, importance, what-if; through the service and API."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from services.access.audit import Source
from services.errors import ConsoleError
from services.registry.demo import (
    CHURN_MODEL,
    HOUSE_PRICE_MODEL,
    IRIS_MODEL,
    churn_frame,
    house_frame,
)
from services.settings import embedded_tracking_uri
from tests.conftest import SETOSA, VIRGINICA, api_predict
from tests.explain_models import FORMULA_MODEL, NEIGHBOURS_MODEL, formula, register_explain_models

EXPLAIN = "/api/models/{name}/{ref}/explain"


@pytest.fixture(scope="module", autouse=True)
def explain_models(registry_dir):
    register_explain_models(embedded_tracking_uri(registry_dir), registry_dir)


def _explain(services, caller, name, ref, payload):
    return services.explain.explain(caller, name, ref, payload, source=Source.API)


def _total(row) -> float:
    return row.base_value + sum(c["contribution"] for c in row.contributions)


def test_forest_is_explained_exactly_in_probability_of_the_predicted_class(services, caller):
    answer = _explain(services, caller, IRIS_MODEL, "Champion", [SETOSA, VIRGINICA])
    assert (answer.method, answer.explained_output) == (
        "tree",
        "probability of the predicted class",
    )
    assert answer.reference == {"source": "training reference", "rows": 150, "fallback": False}
    probabilities = api_predict(
        services, caller, IRIS_MODEL, "1", [SETOSA, VIRGINICA], probabilities=True
    ).probabilities
    for row, classes in zip(answer.rows, probabilities, strict=True):
        assert sum(classes.values()) == pytest.approx(1.0, abs=1e-5)
        assert row.output == pytest.approx(max(classes.values()), abs=1e-6)
        assert _total(row) == pytest.approx(row.output, abs=1e-9)
    assert [(r.prediction, r.label) for r in answer.rows] == [(0, "setosa"), (2, "virginica")]
    petal = {c["feature"]: c["contribution"] for c in answer.rows[1].contributions}
    assert max(petal, key=lambda f: abs(petal[f])).startswith("petal")


def test_an_explanation_writes_no_warning_to_the_log(services, caller):
    """scikit-learn warned "X does not have valid feature names" at every explanation of a
    model fitted on named columns (the demo's forest): noise in the server's log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _explain(services, caller, IRIS_MODEL, "Champion", [SETOSA, VIRGINICA])
    assert [str(w.message) for w in caught if "feature names" in str(w.message)] == []


def test_regressor_adds_up_to_its_prediction(services, caller):
    rows = house_frame(5, seed=99).to_dict("records")
    answer = _explain(services, caller, HOUSE_PRICE_MODEL, "1", rows)
    predictions = api_predict(services, caller, HOUSE_PRICE_MODEL, "1", rows).predictions
    assert answer.explained_output == "predicted value"
    for row, predicted in zip(answer.rows, predictions, strict=True):
        assert row.output == pytest.approx(predicted, rel=1e-9)
        assert _total(row) == pytest.approx(predicted, rel=1e-9)
        assert row.probability is None


def test_one_hot_columns_are_summed_into_the_column_the_user_typed(services, caller):
    import shap

    records = churn_frame(4, seed=21).to_dict("records")
    answer = _explain(services, caller, CHURN_MODEL, "1", records)
    assert answer.method == "linear" and answer.explained_output.startswith("log-odds")
    assert [c["feature"] for c in answer.rows[0].contributions] == list(records[0])
    assert answer.rows[0].contributions[4]["value"] == records[0]["city"]
    model = services.explain.explainers  # the cached explainer holds the pipeline
    (explainer,) = [e for e in model._entries.values() if e.model.name == CHURN_MODEL]
    pipeline = explainer.parts.raw
    encoded = pipeline[:-1].transform(explainer.reference.frame.head(1_000))
    raw = shap.LinearExplainer(pipeline[-1], encoded).shap_values(
        pipeline[:-1].transform(churn_frame(4, seed=21))
    )
    city_columns = [
        i for i, n in enumerate(pipeline[:-1].get_feature_names_out()) if n.startswith("city__")
    ]
    for i, row in enumerate(answer.rows):
        sign = 1 if row.prediction == 1 else -1
        city = {c["feature"]: c["contribution"] for c in row.contributions}["city"]
        assert city == pytest.approx(sign * raw[i, city_columns].sum(), abs=1e-9)
        assert _total(row) == pytest.approx(row.output, abs=1e-9)
        probability = pipeline.predict_proba(churn_frame(4, seed=21))[i].max()
        assert row.probability == pytest.approx(probability, abs=1e-6)
        assert 1 / (1 + np.exp(-row.output)) == pytest.approx(probability, abs=1e-6)


def test_model_without_structure_or_probabilities_gets_the_agnostic_explainer(services, caller):
    rows = house_frame(3, seed=5).to_dict("records")
    answer = _explain(services, caller, FORMULA_MODEL, "1", rows)
    assert answer.method == "permutation"
    assert answer.explained_output == "the model's output (model-agnostic estimate)"
    expected = formula(house_frame(3, seed=5))
    for row, value in zip(answer.rows, expected, strict=True):
        assert row.output == pytest.approx(value)
        assert _total(row) == pytest.approx(value, rel=0.01)
        ignored = {c["feature"]: c["contribution"] for c in row.contributions}
        assert ignored["distance_to_center_km"] == pytest.approx(0, abs=1e-6)


def test_probabilities_without_known_structure_are_explained_in_probability(services, caller):
    answer = _explain(services, caller, NEIGHBOURS_MODEL, "1", [SETOSA, VIRGINICA])
    assert answer.method == "permutation"
    assert answer.explained_output.startswith("probability of the predicted class")
    for row in answer.rows:
        assert row.output == pytest.approx(row.probability, abs=1e-6)
        assert _total(row) == pytest.approx(row.output, rel=0.01)


def test_a_model_without_reference_falls_back_to_its_input_example_and_says_so(services, caller):
    answer = _explain(services, caller, FORMULA_MODEL, "2", house_frame(1).to_dict("records"))
    assert answer.reference == {"source": "input example", "rows": 3, "fallback": True}
    assert "input example" in answer.reference_note
    space = services.explain.what_if_space(caller, FORMULA_MODEL, "2")
    assert space.reference["fallback"] is True and "no training reference" in space.note


def test_importance_says_which_it_is(services, caller):
    models = ((IRIS_MODEL, "1"), (CHURN_MODEL, "1"), (FORMULA_MODEL, "1"))
    kinds = {
        name: services.explain.importance(caller, name, ref, Source.UI).to_dict()
        for name, ref in models
    }
    assert kinds[IRIS_MODEL]["kind"] == "impurity"
    assert kinds[CHURN_MODEL]["kind"] == "coefficients"
    assert kinds[FORMULA_MODEL]["kind"] == "mean_abs_shap"
    assert kinds[FORMULA_MODEL]["features"][0]["feature"] == "living_area_sqm"
    churn = [f["feature"] for f in kinds[CHURN_MODEL]["features"]]
    assert churn[0] == "tenure_months" and "city" in churn and len(churn) == 6


def test_what_if_ranges_come_from_training_and_ice_sweeps_one_feature(services, caller):
    space = services.explain.what_if_space(caller, CHURN_MODEL, "1")
    ranges = {r.feature: r for r in space.ranges}
    assert ranges["city"].categories == ["Berlin", "Lisbon", "Madrid", "Paris", "Rome"]
    assert ranges["age"].kind == "integer" and 18 <= ranges["age"].low < ranges["age"].high < 80
    assert ranges["is_member"].kind == "boolean"
    record = churn_frame(1, seed=3).to_dict("records")[0]
    curve = services.explain.ice(
        caller, CHURN_MODEL, "1", record, "tenure_months", source=Source.FORM
    )
    assert len(curve.values) == len(curve.outputs) > 10
    assert all(0 <= p <= 1 for p in curve.outputs)
    assert curve.outputs[0] != curve.outputs[-1]  # tenure moves churn


def test_too_many_rows_are_refused(services, caller):
    with pytest.raises(ConsoleError, match="At most 100 rows"):
        _explain(services, caller, IRIS_MODEL, "1", [SETOSA] * 101)


def test_explain_route_answers_the_documented_shape(client):
    response = client.post(EXPLAIN.format(name=IRIS_MODEL, ref="Champion"), json=VIRGINICA)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) >= {"method", "explained_output", "rows", "model", "version"}
    (row,) = body["rows"]
    assert set(row) >= {"base_value", "output", "contributions"}
    assert {c["feature"] for c in row["contributions"]} == set(VIRGINICA)
    assert all(set(c) == {"feature", "value", "contribution"} for c in row["contributions"])
    split = {"dataframe_split": {"columns": list(SETOSA), "data": [list(SETOSA.values())]}}
    assert client.post(EXPLAIN.format(name=IRIS_MODEL, ref="1"), json=split).status_code == 200


def test_an_explained_row_carries_the_same_class_probabilities_as_its_prediction(client):
    explained = client.post(EXPLAIN.format(name=IRIS_MODEL, ref="Champion"), json=VIRGINICA)
    predicted = client.post(
        f"/api/models/{IRIS_MODEL}/Champion/predict?probabilities=true", json=VIRGINICA
    )
    (row,) = explained.get_json()["rows"]
    assert row["probabilities"] == predicted.get_json()["probabilities"][0]
    assert row["probability"] == max(row["probabilities"].values())


def test_explain_route_errors(client):
    many = client.post(EXPLAIN.format(name=IRIS_MODEL, ref="1"), json=[SETOSA] * 101)
    assert many.status_code == 400 and many.get_json()["error_code"] == "INVALID_INPUT"
    text = client.post(
        EXPLAIN.format(name=IRIS_MODEL, ref="1"), data="x", content_type="text/plain"
    )
    assert text.status_code == 415
    missing = client.post(EXPLAIN.format(name="main.ml_models.nope", ref="1"), json=SETOSA)
    assert missing.status_code == 404
    importance = client.get(f"/api/models/{CHURN_MODEL}/1/importance").get_json()
    assert importance["kind"] == "coefficients" and "scaled" in importance["what"]


def test_explanations_are_audited(settings, tmp_path, caller):
    from dataclasses import replace

    from cachelib import SimpleCache

    from services.access.audit import AuditLog
    from services.wiring import build_services

    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    services = build_services(replace(settings, app_data_dir=tmp_path), SimpleCache(), audit)
    services.explain.explain(caller, IRIS_MODEL, "1", SETOSA, source=Source.API)
    with pytest.raises(ConsoleError):
        services.explain.explain(caller, IRIS_MODEL, "1", {"x": 1}, source=Source.API)
    rows = audit.rows()
    audit.close()
    assert [(r["action"], r["outcome"], r["input_rows"]) for r in rows][:1] == [
        ("explain", "ok", 1)
    ]
    assert rows[1]["outcome"] == "error"
