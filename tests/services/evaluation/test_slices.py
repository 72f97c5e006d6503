"""Slices: the same figures per value of a column (or per bin of a numeric one), the slice
where a version does worst first; the streaming curve stays bounded on a big file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.evaluation.curves import MAX_DISTINCT, ScoreCounts
from services.evaluation.service import Request
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, _churn_labels, churn_frame
from tests.services.evaluation.test_metrics import noisy_iris, raw_model


def test_a_categorical_slice_per_city_sorted_worst_first(chunked):
    X = churn_frame(600, seed=5)
    y = _churn_labels(X, seed=9)
    rows = X.assign(churned=y).to_dict("records")
    request = Request(["Champion"], "churned", "city")
    body = chunked.evaluation.evaluate(
        LOCAL_CALLER, CHURN_MODEL, request, rows, source=Source.API
    ).body
    predicted = raw_model(chunked, CHURN_MODEL, "Champion").predict(X)
    assert body["slice_column"] == "city"
    assert {s["value"] for s in body["slices"]} == set(X["city"])
    accuracies = [s["versions"][0]["metrics"]["accuracy"] for s in body["slices"]]
    assert accuracies == sorted(accuracies)  # worst first
    for entry in body["slices"]:
        rows_of = (X["city"] == entry["value"]).to_numpy()
        assert entry["rows"] == rows_of.sum()
        expected = metrics.f1_score(y[rows_of], predicted[rows_of], average="macro")
        assert entry["versions"][0]["metrics"]["f1_macro"] == pytest.approx(expected, abs=1e-9)


def test_a_numeric_slice_in_bins_for_both_versions(chunked):
    X, y = noisy_iris(seed=3)
    rows = X.assign(species=y).to_dict("records")
    request = Request(["Champion", "Challenger"], "species", "petal_length")
    body = chunked.evaluation.evaluate(
        LOCAL_CALLER, IRIS_MODEL, request, rows, source=Source.API
    ).body
    assert sum(s["rows"] for s in body["slices"]) == len(X)
    assert len(body["slices"]) == 5 and all(" " in s["value"] for s in body["slices"])
    worst = [min(v["metrics"]["accuracy"] for v in s["versions"]) for s in body["slices"]]
    assert worst == sorted(worst)
    assert [v["ref"] for v in body["slices"][0]["versions"]] == ["Champion", "Challenger"]


def test_many_distinct_scores_stay_bounded_and_close():
    rng = np.random.default_rng(0)
    rows = MAX_DISTINCT + 50_000
    truth = rng.random(rows) < 0.3
    scores = np.clip(truth * 0.2 + rng.random(rows) * 0.8, 0, 1)
    counts = ScoreCounts()
    for start in range(0, rows, 40_000):
        counts.add(scores[start : start + 40_000], truth[start : start + 40_000])
    assert not counts.exact and len(counts.scores) <= 100_001
    assert counts.auc() == pytest.approx(metrics.roc_auc_score(truth, scores), abs=1e-4)


def test_scores_exact_per_distinct_value_give_scikit_learns_area():
    rng = np.random.default_rng(1)
    truth = rng.random(30_000) < 0.5
    scores = np.round(truth * 0.1 + rng.random(30_000), 3)  # many ties
    counts = ScoreCounts()
    for part in np.array_split(np.arange(30_000), 7):
        counts.add(scores[part], truth[part])
    assert counts.exact
    assert counts.auc() == pytest.approx(metrics.roc_auc_score(truth, scores), abs=1e-12)
    assert pd.Series(scores).nunique() == len(counts.scores)


def test_probabilities_on_a_bin_edge_are_binned_as_scikit_learn_bins_them():
    """Tree models answer 0.1, 0.2, … exactly: each lands in the bin scikit-learn puts it."""
    from sklearn.calibration import calibration_curve

    from services.evaluation.curves import CalibrationBins

    rng = np.random.default_rng(4)
    probabilities = rng.choice(np.round(np.arange(0, 1.01, 0.1), 1), size=500)
    truth = rng.random(500) < probabilities
    bins = CalibrationBins()
    bins.add(probabilities, truth)
    observed, predicted = calibration_curve(truth, probabilities, n_bins=10)
    curve = bins.curve()
    np.testing.assert_allclose(curve["fraction_positive"], observed, atol=1e-12)
    np.testing.assert_allclose(curve["mean_predicted"], predicted, atol=1e-12)


def test_an_empty_prediction_is_a_row_not_scored_not_a_broken_evaluation():
    """A model that answers "" for a row names no class: that row is left out for every
    version and listed, and the rest are counted."""
    from services.evaluation.classes import Classes
    from services.evaluation.evaluator import CLASSIFICATION, Answers, EvaluatedVersion, Evaluator

    classes = Classes(["no", "yes"], None, fixed=True)
    versions = [EvaluatedVersion("Champion", "1"), EvaluatedVersion("Challenger", "2")]
    evaluator = Evaluator(CLASSIFICATION, "churned", versions, classes)
    chunk = pd.DataFrame({"churned": ["yes", "no", "yes", "no"]})
    evaluator.add(
        chunk,
        [
            Answers(pd.Series(["yes", "", "yes", "no"])),
            Answers(pd.Series(["yes", "no", "no", "no"])),
        ],
    )
    body = evaluator.result()
    assert (body["rows"], body["skipped_rows"]) == (3, 1)
    assert body["skipped"] == {"not_scored": 1}
    assert [v["metrics"]["accuracy"] for v in body["versions"]] == [1.0, pytest.approx(2 / 3)]
