"""Real models for the evaluation tests, registered next to the demo models (once per
registry): string labels with and without ``predict_proba``, a binary string-labelled
classifier, and a regressor with two versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.registry.demo import IRIS_FEATURES, house_frame, using_tracking_uri
from services.settings import embedded_artifact_root

NAMES_MODEL = "test.eval.iris_names"  # v1 LinearSVC (no probabilities), v2 a shallow tree
BINARY_MODEL = "test.eval.virginica"  # "no" / "yes", logistic regression
REGRESSOR_MODEL = "test.eval.house"  # v1 linear regression, v2 a depth-3 tree
SPECIES = np.array(["setosa", "versicolor", "virginica"])


def iris_named() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    X = pd.DataFrame(iris.data, columns=IRIS_FEATURES).astype("float64")
    return X, pd.Series(SPECIES[iris.target], name="species")


def house_prices(rows: int, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    X = house_frame(rows, seed=seed)
    noise = np.random.default_rng(seed).normal(0, 15_000, rows)
    price = 60_000 + 3_100 * X["living_area_sqm"] - 700 * X["age_years"] + noise
    return X, price.rename("price_eur")


def _register(client, name: str, estimators: list, X: pd.DataFrame, experiment_id: str) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    try:
        client.get_registered_model(name)
        return  # registered by an earlier test session on this registry
    except MlflowException:
        client.create_registered_model(name)
    for estimator in estimators:
        with mlflow.start_run(experiment_id=experiment_id):
            info = mlflow.sklearn.log_model(
                estimator,
                name="model",
                signature=infer_signature(X, estimator.predict(X.head(5))),
                pip_requirements=["scikit-learn", "numpy"],
                serialization_format="cloudpickle",
            )
        client.create_model_version(name, source=info.model_uri, run_id=info.run_id)


def register_evaluation_models(tracking_uri: str, data_dir: Path) -> None:
    from mlflow import MlflowClient
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X, species = iris_named()
    houses, prices = house_prices(800)
    with using_tracking_uri(tracking_uri):
        client = MlflowClient(tracking_uri, tracking_uri)
        experiment = client.get_experiment_by_name("/console-evaluation-models")
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(
                "/console-evaluation-models",
                artifact_location=embedded_artifact_root(data_dir).as_uri(),
            )
        )
        named = [
            LinearSVC(random_state=0, max_iter=5000).fit(X, species),
            DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, species),
        ]
        _register(client, NAMES_MODEL, named, X, experiment_id)
        yes_no = np.where(species == "virginica", "yes", "no")
        binary = LogisticRegression(max_iter=1000).fit(X[["sepal_length", "sepal_width"]], yes_no)
        _register(client, BINARY_MODEL, [binary], X[["sepal_length", "sepal_width"]], experiment_id)
        regressors = [
            LinearRegression().fit(houses, prices),
            DecisionTreeRegressor(max_depth=3, random_state=0).fit(houses, prices),
        ]
        _register(client, REGRESSOR_MODEL, regressors, houses, experiment_id)


@pytest.fixture(scope="session")
def evaluation_models(settings) -> None:
    register_evaluation_models(settings.tracking_uri, settings.app_data_dir)
