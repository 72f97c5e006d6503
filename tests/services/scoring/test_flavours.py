"""Real XGBoost and LightGBM models (their own MLflow flavours) through every path the console
has: predict, class probabilities, exact tree explanations, compare, drift and the CSV path."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cachelib import SimpleCache

from services.access.audit import AuditLog, Source
from services.access.caller import LOCAL_CALLER
from services.files.service import ScoreOptions
from services.wiring import build_services
from tests.conftest import api_predict, settings_for
from tests.flavour_models import (
    CLASSIFIER,
    REGRESSOR,
    house_frame,
    iris_frame,
    register_flavour_models,
)

pytestmark = pytest.mark.slow
XGBOOST, LIGHTGBM = "1", "2"
FLAVOURS = {XGBOOST: "xgboost", LIGHTGBM: "lightgbm"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory):
    data_dir: Path = tmp_path_factory.mktemp("flavours")
    register_flavour_models(data_dir)
    audit = AuditLog(f"sqlite:///{data_dir / 'audit.db'}")
    yield build_services(settings_for(data_dir), SimpleCache(), audit)
    audit.close()


def rows(name: str, count: int = 5) -> list[dict]:
    frame = iris_frame()[0] if name == CLASSIFIER else house_frame()[0]
    return frame.sample(count, random_state=1, replace=count > len(frame)).to_dict("records")


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
def test_the_version_is_its_own_flavour(services, version):
    for name in (CLASSIFIER, REGRESSOR):
        detail = services.registry.version_detail(LOCAL_CALLER, name, version, Source.API)
        assert FLAVOURS[version] in detail.files.flavors
        checked = {r.package: r.state for r in detail.environment.requirements}
        assert checked[FLAVOURS[version]] == "installed"


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
def test_classifier_predicts_classes_with_probabilities(services, version):
    answer = api_predict(
        services, LOCAL_CALLER, CLASSIFIER, version, rows(CLASSIFIER), probabilities=True
    )
    frame, target = iris_frame()
    assert set(answer.predictions) <= {0, 1, 2}
    for prediction, chances in zip(answer.predictions, answer.probabilities, strict=True):
        assert math.isclose(sum(chances.values()), 1, abs_tol=1e-5)
        assert max(chances, key=chances.get) == str(prediction)
    everything = api_predict(services, LOCAL_CALLER, CLASSIFIER, version, frame.to_dict("records"))
    assert np.mean(np.array(everything.predictions) == target) > 0.9


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
def test_regressor_predicts_prices(services, version):
    frame, prices = house_frame()
    answer = api_predict(services, LOCAL_CALLER, REGRESSOR, version, frame.to_dict("records"))
    assert np.corrcoef(answer.predictions, prices)[0, 1] > 0.95


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
def test_a_boosted_classifier_is_explained_exactly_in_log_odds(services, version):
    sample = rows(CLASSIFIER)
    explained = services.explain.explain(
        LOCAL_CALLER, CLASSIFIER, version, sample, source=Source.API
    )
    assert explained.method == "tree"
    assert explained.explained_output.startswith("log-odds (raw score) of the predicted class")
    probabilities = api_predict(
        services, LOCAL_CALLER, CLASSIFIER, version, sample, probabilities=True
    ).probabilities
    for row, chances in zip(explained.rows, probabilities, strict=True):
        total = row.base_value + sum(c["contribution"] for c in row.contributions)
        assert math.isclose(total, row.output, rel_tol=1e-5, abs_tol=1e-5)
        assert row.probability == chances[str(row.prediction)]
    # the explained output is the model's own margin: its softmax is the probability
    margins = _margins(services, version, pd.DataFrame(sample))
    shown = [row.output for row in explained.rows]
    picked = margins[np.arange(len(sample)), [row.prediction for row in explained.rows]]
    assert np.allclose(shown, picked, atol=1e-5)
    softmax = np.exp(margins) / np.exp(margins).sum(axis=1, keepdims=True)
    assert np.allclose(softmax.max(axis=1), [r.probability for r in explained.rows], atol=1e-5)


def _margins(services, version: str, frame: pd.DataFrame) -> np.ndarray:
    """The model's raw scores, asked of the library itself (not of the console)."""
    _, model = services.scoring.loader.load(LOCAL_CALLER, CLASSIFIER, version)
    raw = model.pyfunc.get_raw_model()
    if version == XGBOOST:
        return raw.predict(frame, output_margin=True)
    return raw.predict(frame, raw_score=True)


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
def test_a_boosted_regressor_is_explained_exactly(services, version):
    sample = rows(REGRESSOR)
    explained = services.explain.explain(
        LOCAL_CALLER, REGRESSOR, version, sample, source=Source.API
    )
    assert (explained.method, explained.explained_output) == ("tree", "predicted value")
    predicted = api_predict(services, LOCAL_CALLER, REGRESSOR, version, sample).predictions
    for row, prediction in zip(explained.rows, predicted, strict=True):
        total = row.base_value + sum(c["contribution"] for c in row.contributions)
        assert math.isclose(total, row.output, rel_tol=1e-5)
        assert math.isclose(row.output, prediction, rel_tol=1e-5)


def test_compare_sets_xgboost_against_lightgbm(services):
    for name, kind in ((CLASSIFIER, "classes"), (REGRESSOR, "numbers")):
        compared = services.compare.compare(
            LOCAL_CALLER, name, None, rows(name, 40), source=Source.API
        )
        body = compared.to_dict()
        assert [v["version"] for v in body["versions"]] == [XGBOOST, LIGHTGBM]
        assert body["kind"] == kind
        if kind == "classes":
            assert body["agreement"] > 0.9
        else:
            assert body["mean_absolute_difference"] < 50_000


@pytest.mark.parametrize("version", [XGBOOST, LIGHTGBM])
@pytest.mark.parametrize("name", [CLASSIFIER, REGRESSOR])
def test_the_csv_path_with_drift(services, name, version):
    frame = pd.DataFrame(rows(name, 200))
    shifted = frame.copy()
    first = frame.columns[0]
    shifted[first] = shifted[first] * 10  # far outside training
    csv = shifted.to_csv(index=False).encode()
    stored = services.files.upload(LOCAL_CALLER, "rows.csv", io.BytesIO(csv))
    options = ScoreOptions(probabilities=name == CLASSIFIER)
    scored = services.files.score_upload(LOCAL_CALLER, name, version, stored.file_id, options)
    assert (scored.rows, scored.failed_rows) == (200, 0)
    expected = api_predict(services, LOCAL_CALLER, name, version, shifted.to_dict("records"))
    result = pd.read_csv(services.files.store.path(LOCAL_CALLER, scored.output.file_id))
    assert np.allclose(result["prediction"], expected.predictions, rtol=1e-5)
    drift = scored.drift
    flagged = [c["column"] for c in drift["columns"] if c["flagged"]]
    assert flagged == [first]
    if name == CLASSIFIER:
        assert [c for c in result.columns if c.startswith("probability_")] == [
            "probability_0",
            "probability_1",
            "probability_2",
        ]
