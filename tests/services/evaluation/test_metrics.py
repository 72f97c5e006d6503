"""Every figure of an evaluation equals scikit-learn's on the same rows (to 1e-9), for real
models from the registry, accumulated over many small chunks: multiclass and binary, integer
and string labels, with and without probabilities, and regressors."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.errors import InvalidInput
from services.evaluation.curves import thin
from services.evaluation.service import Request
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, _iris_data, churn_frame
from tests.evaluation_models import (
    BINARY_MODEL,
    NAMES_MODEL,
    REGRESSOR_MODEL,
    house_prices,
    iris_named,
)

TOLERANCE = 1e-9


def noisy_iris(seed: int = 4) -> tuple[pd.DataFrame, pd.Series]:
    """Iris with its measurements jittered, so every version makes some mistakes."""
    X, y = _iris_data()
    rng = np.random.default_rng(seed)
    X = pd.concat([X, X + rng.normal(0, 0.45, X.shape)], ignore_index=True).round(2)
    return X, pd.concat([y, y], ignore_index=True)


def raw_model(services, name: str, ref: str):
    with services.scoring.look(LOCAL_CALLER, name, ref, Source.API) as use:
        return use.model.pyfunc.get_raw_model()


def evaluate(services, name, refs, frame, label, slice_column=None):
    request = Request(refs, label, slice_column)
    rows = frame.to_dict("records")
    return services.evaluation.evaluate(LOCAL_CALLER, name, request, rows, source=Source.API).body


def expected_classification(y, predicted, proba=None, classes=None) -> dict[str, float]:
    figures = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, predicted),
        "precision_macro": metrics.precision_score(y, predicted, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(y, predicted, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(y, predicted, average="macro", zero_division=0),
    }
    if proba is not None:
        figures["log_loss"] = metrics.log_loss(y, proba, labels=classes)
        if proba.shape[1] == 2:
            figures["roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
        else:
            figures["roc_auc"] = metrics.roc_auc_score(
                y, proba, multi_class="ovr", average="macro", labels=classes
            )
    return figures


def assert_figures(found: dict, expected: dict) -> None:
    assert set(found) == set(expected)
    for name, value in expected.items():
        assert found[name] == pytest.approx(value, abs=TOLERANCE, rel=0), name


def test_multiclass_integer_labels_with_probabilities(chunked):
    X, y = noisy_iris()
    body = evaluate(chunked, IRIS_MODEL, ["Champion", "Challenger"], X.assign(species=y), "species")
    assert body["kind"] == "classification" and body["rows"] == len(X) == 300
    for entry, ref in zip(body["versions"], ["Champion", "Challenger"], strict=True):
        model = raw_model(chunked, IRIS_MODEL, ref)
        predicted, proba = model.predict(X), model.predict_proba(X)
        assert entry["ref"] == ref
        assert_figures(entry["metrics"], expected_classification(y, predicted, proba, [0, 1, 2]))
        assert entry["metrics"]["accuracy"] < 1  # the jitter makes mistakes to count
        matrix = metrics.confusion_matrix(y, predicted, labels=[0, 1, 2])
        assert entry["confusion_matrix"]["matrix"] == matrix.tolist()
        assert entry["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
        precision, recall, f1, support = metrics.precision_recall_fscore_support(
            y, predicted, labels=[0, 1, 2], zero_division=0
        )
        virginica = entry["per_class"]["2"]
        assert virginica["name"] == "virginica" and virginica["support"] == support[2]
        assert virginica["precision"] == pytest.approx(precision[2], abs=TOLERANCE)
        assert virginica["recall"] == pytest.approx(recall[2], abs=TOLERANCE)
        assert virginica["f1"] == pytest.approx(f1[2], abs=TOLERANCE)


def test_binary_string_labels_with_probabilities_and_their_curves(chunked):
    X, species = iris_named()
    X = X[["sepal_length", "sepal_width"]]
    y = pd.Series(np.where(species == "virginica", "yes", "no"))
    body = evaluate(chunked, BINARY_MODEL, ["1"], X.assign(truth=y), "truth")
    model = raw_model(chunked, BINARY_MODEL, "1")
    proba = model.predict_proba(X)
    entry = body["versions"][0]
    assert_figures(entry["metrics"], expected_classification(y, model.predict(X), proba))
    assert body["comparison"] is None  # one version: nothing to compare
    curves = entry["curves"]["yes"]  # the positive class, as scikit-learn takes it
    fpr, tpr, _ = metrics.roc_curve(y, proba[:, 1], pos_label="yes", drop_intermediate=False)
    assert curves["exact"] and len(fpr) > len(curves["roc"]["fpr"]) == 101  # thinned to draw
    assert curves["roc"]["fpr"] == thin(fpr) and curves["roc"]["tpr"] == thin(tpr)
    precision, recall, _ = metrics.precision_recall_curve(y, proba[:, 1], pos_label="yes")
    drawn = curves["precision_recall"]  # scikit-learn lists them from recall 1 down
    assert drawn["precision"] == thin(precision[::-1]) and drawn["recall"] == thin(recall[::-1])
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y == "yes", proba[:, 1], n_bins=10)
    np.testing.assert_allclose(curves["calibration"]["fraction_positive"], observed, atol=1e-12)
    np.testing.assert_allclose(curves["calibration"]["mean_predicted"], predicted, atol=1e-12)


def test_binary_integer_labels(chunked):
    X = churn_frame(400, seed=21)
    from services.registry.demo import _churn_labels

    y = _churn_labels(X, seed=3)
    body = evaluate(chunked, CHURN_MODEL, ["Champion"], X.assign(churned=y), "churned")
    model = raw_model(chunked, CHURN_MODEL, "Champion")
    expected = expected_classification(y, model.predict(X), model.predict_proba(X))
    assert_figures(body["versions"][0]["metrics"], expected)


def test_string_labels_without_probabilities(chunked):
    X, y = iris_named()
    X = X + np.random.default_rng(8).normal(0, 0.3, X.shape)
    body = evaluate(chunked, NAMES_MODEL, ["1", "2"], X.assign(species=y), "species")
    without, tree = body["versions"]
    svc = raw_model(chunked, NAMES_MODEL, "1")
    assert not hasattr(svc, "predict_proba")
    assert_figures(without["metrics"], expected_classification(y, svc.predict(X)))
    assert "log_loss" not in without["metrics"] and without["curves"] == {}
    shallow = raw_model(chunked, NAMES_MODEL, "2")
    classes = list(shallow.classes_)
    expected = expected_classification(y, shallow.predict(X), shallow.predict_proba(X), classes)
    assert_figures(tree["metrics"], expected)
    assert without["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]


def test_regressors_and_rows_with_a_zero_truth(chunked):
    X, price = house_prices(500, seed=9)
    price = price.copy()
    price.iloc[[3, 70, 400]] = 0.0  # a percentage of nothing: left out of MAPE, counted
    body = evaluate(chunked, REGRESSOR_MODEL, ["1", "2"], X.assign(price=price), "price")
    assert body["kind"] == "regression" and body["zero_truth_rows"] == 3
    kept = price != 0
    for entry, ref in zip(body["versions"], ["1", "2"], strict=True):
        predicted = raw_model(chunked, REGRESSOR_MODEL, ref).predict(X)
        expected = {
            "mae": metrics.mean_absolute_error(price, predicted),
            "rmse": metrics.root_mean_squared_error(price, predicted),
            "r2": metrics.r2_score(price, predicted),
            "mape": metrics.mean_absolute_percentage_error(price[kept], predicted[kept]),
        }
        assert_figures(entry["metrics"], expected)
        histogram = entry["curves"]["residual_histogram"]
        assert sum(histogram["counts"]) == len(X)
        assert len(entry["curves"]["predicted_vs_actual"]["actual"]) == len(X)  # < 1,000 rows
    comparison = body["comparison"]
    assert comparison["test"] == "paired_bootstrap" and set(comparison["difference"]) == {
        "mae",
        "rmse",
    }
    mae = comparison["difference"]["mae"]
    assert mae["ci95"][0] <= mae["value"] <= mae["ci95"][1]


def test_missing_and_unknown_labels_are_counted_listed_and_left_out(chunked):
    X, y = noisy_iris(seed=6)
    labels = y.astype(object).copy()
    labels.iloc[[5, 80]] = None
    labels.iloc[[9]] = "tulip"
    labels.iloc[[12]] = "setosa"  # a class by its declared name is a class
    body = evaluate(chunked, IRIS_MODEL, ["Champion"], X.assign(species=labels), "species")
    assert body["skipped"] == {"missing_label": 2, "unknown_label": 1}
    assert body["skipped_rows"] == 3 and body["rows"] == len(X) - 3
    assert [(p["row"], p["problem"]) for p in body["problems"]] == [
        (6, "the label is missing"),
        (10, "the label is not a class this model knows"),
        (81, "the label is missing"),
    ]
    keep = labels.notna() & (labels != "tulip")
    truth = labels[keep].replace({"setosa": 0}).astype(int)
    model = raw_model(chunked, IRIS_MODEL, "Champion")
    expected = expected_classification(
        truth, model.predict(X[keep]), model.predict_proba(X[keep]), [0, 1, 2]
    )
    assert_figures(body["versions"][0]["metrics"], expected)


def test_a_file_gives_the_figures_of_the_same_rows_sent_as_json(chunked):
    X, y = noisy_iris(seed=2)
    frame = X.assign(species=y)
    stored = chunked.files.store.save_stream(
        LOCAL_CALLER, "iris_labeled.csv", io.BytesIO(frame.to_csv(index=False).encode()), 10**7
    )
    request = Request(["Champion", "Challenger"], "species")
    from_file = chunked.evaluation.evaluate_file(LOCAL_CALLER, IRIS_MODEL, request, stored.file_id)
    from_json = evaluate(chunked, IRIS_MODEL, ["Champion", "Challenger"], frame, "species")
    for file_entry, json_entry in zip(
        from_file.body["versions"], from_json["versions"], strict=True
    ):
        assert_figures(file_entry["metrics"], json_entry["metrics"])
    assert from_file.body["comparison"]["summary"] == from_json["comparison"]["summary"]


def test_nothing_left_to_evaluate_is_refused_with_the_commonest_reason_and_its_row(chunked):
    """A figure of no rows would be read as a result: the evaluation is refused instead,
    naming the reason most rows have, that reason's own first row, and what would do."""
    X, _ = noisy_iris(seed=6)
    labels = pd.Series(["tulip"] * 4 + [None], dtype=object)
    with pytest.raises(InvalidInput) as refused:
        evaluate(chunked, IRIS_MODEL, ["Champion"], X.head(5).assign(species=labels), "species")
    said = str(refused.value)
    assert 'in 4 of 5 rows of "species", the label is not a class this model knows' in said
    assert "(row 1: 'tulip')" in said
    assert "setosa, versicolor, virginica" in refused.value.hint

    houses = house_prices(3)[0].assign(price=["cheap", "dear", None])  # a regressor's: numbers
    with pytest.raises(InvalidInput) as refused:
        evaluate(chunked, REGRESSOR_MODEL, ["1"], houses, "price")
    assert "the label is not a number (row 1: 'cheap')" in str(refused.value)
    assert refused.value.hint.endswith("a number for each row.")
