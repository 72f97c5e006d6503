"""The embedded default registry: a local MLflow registry seeded with demo models.

Seeding is deterministic (fixed seeds, bundled or generated data), idempotent across restarts
(a model carrying the current recipe tag is left alone) and safe when several processes start
at once (whoever seeds holds seed.lock; see ``services.registry.seeding``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path

import numpy as np
import pandas as pd

from services.environment import preserved_environment
from services.registry.labels import LABELS_TAG
from services.registry.seed_marks import SEED_LOCK, SEED_RECIPE, demo_seeded, mark_seeded
from services.settings import DEMO_MODEL, embedded_artifact_root

log = logging.getLogger(__name__)

SEED_TAG = "console.demo_recipe"
DEMO_EXPERIMENT = "/console-demo-models"
URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")

IRIS_MODEL = DEMO_MODEL
CHURN_MODEL = "main.ml_models.customer_churn"
HOUSE_PRICE_MODEL = "main.ml_models.house_price_regressor"
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CHURN_CITIES = ["Berlin", "Lisbon", "Madrid", "Paris", "Rome"]


@dataclass
class DemoVersion:
    estimator: object
    X: pd.DataFrame
    y: pd.Series
    tags: dict[str, str]
    description: str


@dataclass
class DemoModel:
    name: str
    description: str
    tags: dict[str, str]
    build_versions: Callable[[], list[DemoVersion]]
    aliases: dict[str, int] = field(default_factory=dict)


def _iris_data() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    X = pd.DataFrame(iris.data, columns=IRIS_FEATURES).astype("float64")
    return X, pd.Series(iris.target, name="species")


def _iris_versions() -> list[DemoVersion]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = _iris_data()
    forest = RandomForestClassifier(n_estimators=100, random_state=42).fit(X, y)
    logistic = LogisticRegression(max_iter=1000).fit(X, y)
    return [
        DemoVersion(
            forest,
            X,
            y,
            {"algorithm": "RandomForestClassifier", "n_estimators": "100"},
            "Random forest, 100 trees. The production model.",
        ),
        DemoVersion(
            logistic,
            X,
            y,
            {"algorithm": "LogisticRegression"},
            "Multinomial logistic regression, the challenger.",
        ),
    ]


def churn_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Synthetic customers with the churn model's columns (also used by tests and benches)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype("int64"),
            "income": rng.normal(52_000, 15_000, rows).round(2).clip(8_000, None),
            "tenure_months": rng.integers(0, 120, rows).astype("int64"),
            "usage_gb": rng.gamma(2.0, 8.0, rows).round(2),
            "city": pd.Series(rng.choice(CHURN_CITIES, rows), dtype=object),
            "is_member": rng.random(rows) < 0.4,
        }
    )


def _churn_labels(X: pd.DataFrame, seed: int = 11) -> pd.Series:
    rng = np.random.default_rng(seed)
    score = (
        1.5
        - 0.035 * X["tenure_months"]
        - 0.9 * X["is_member"].astype(float)
        + 0.04 * (X["usage_gb"] < 5)
        - 0.00001 * (X["income"] - 52_000)
        + 0.3 * X["city"].isin(["Paris", "Rome"])
    )
    probability = 1 / (1 + np.exp(-score))
    return pd.Series((rng.random(len(X)) < probability).astype("int64"), name="churned")


def _churn_versions() -> list[DemoVersion]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = churn_frame(2_000)
    y = _churn_labels(X)
    numeric = ["age", "income", "tenure_months", "usage_gb", "is_member"]
    pipeline = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                        ("numeric", StandardScaler(), numeric),
                    ]
                ),
            ),
            ("classifier", LogisticRegression(max_iter=1000)),
        ]
    ).fit(X, y)
    return [
        DemoVersion(
            pipeline,
            X,
            y,
            {"algorithm": "Pipeline(OneHotEncoder+StandardScaler, LogisticRegression)"},
            "One-hot city, scaled numerics, logistic regression. Probabilities available.",
        )
    ]


def house_frame(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "living_area_sqm": rng.uniform(30, 250, rows).round(1),
            "bedrooms": rng.integers(1, 6, rows).astype("int64"),
            "age_years": rng.integers(0, 100, rows).astype("int64"),
            "distance_to_center_km": rng.uniform(0.5, 40, rows).round(2),
        }
    )


def _house_versions() -> list[DemoVersion]:
    from sklearn.ensemble import GradientBoostingRegressor

    X = house_frame(1_500)
    rng = np.random.default_rng(5)
    price = (
        60_000
        + 3_100 * X["living_area_sqm"]
        + 9_000 * X["bedrooms"]
        - 700 * X["age_years"]
        - 2_500 * X["distance_to_center_km"]
        + rng.normal(0, 15_000, len(X))
    ).rename("price_eur")
    model = GradientBoostingRegressor(n_estimators=150, random_state=0).fit(X, price)
    return [
        DemoVersion(
            model,
            X,
            price,
            {"algorithm": "GradientBoostingRegressor", "target": "price_eur"},
            "Gradient boosting on synthetic sales; predicts a price in euros.",
        )
    ]


DEMO_MODELS = [
    DemoModel(
        IRIS_MODEL,
        "## Iris species classifier\n\n"
        "Predicts the species of an iris flower from four measurements in centimetres.\n\n"
        "| class | species |\n|---|---|\n| 0 | setosa |\n| 1 | versicolor |\n| 2 | virginica |\n\n"
        "*Trained on the classic Fisher iris data set (150 flowers).*",
        {
            "team": "data-science",
            "domain": "botany",
            "task": "classification",
            LABELS_TAG: '["setosa", "versicolor", "virginica"]',
        },
        _iris_versions,
        {"Champion": 1, "Challenger": 2},
    ),
    DemoModel(
        CHURN_MODEL,
        "## Customer churn\n\n"
        "Predicts whether a customer leaves in the next quarter (**1**) or stays (**0**).\n"
        "Mixed inputs: numbers, a city and a membership flag.",
        {
            "team": "growth-analytics",
            "domain": "customers",
            "task": "classification",
            LABELS_TAG: '{"0": "stays", "1": "leaves"}',
        },
        _churn_versions,
        {"Champion": 1},
    ),
    DemoModel(
        HOUSE_PRICE_MODEL,
        "## House price regressor\n\nEstimates a sale price in euros from four property facts.",
        {"team": "real-estate", "domain": "pricing", "task": "regression"},
        _house_versions,
        {"Champion": 1},
    ),
]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def using_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for a while. ``set_tracking_uri`` also writes the
    environment (inherited by gunicorn's workers), so the previous environment is restored."""
    import mlflow

    previous = {name: os.environ.get(name) for name in URI_VARIABLES}
    with preserved_environment(*URI_VARIABLES):
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous["MLFLOW_TRACKING_URI"])
            mlflow.set_registry_uri(previous["MLFLOW_REGISTRY_URI"])


def pip_requirements() -> list[str]:
    """Explicit and pinned: the inferred list picks up whatever the process imported."""
    names = ["mlflow", "scikit-learn", "pandas", "numpy", "cloudpickle"]
    return [f"{name}=={installed_version(name)}" for name in names]


def log_training_reference(client, model_id: str, X: pd.DataFrame) -> None:
    """The convention of ``services.explain.reference``: a Parquet sample of the training
    inputs in the model's own files, which explanations and what-if compare against."""
    import tempfile

    from services.explain.reference import MAX_REFERENCE_ROWS, REFERENCE_FILE

    sample = X.sample(min(len(X), MAX_REFERENCE_ROWS), random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / REFERENCE_FILE
        sample.to_parquet(path, index=False)
        client.log_model_artifact(model_id, str(path))


def _is_seeded(client, name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name).tags.get(SEED_TAG) == SEED_RECIPE
    except MlflowException:
        return False


@contextlib.contextmanager
def _quiet_about_the_demos_own_choices() -> Iterator[None]:
    """MLflow warns, at every demo version it logs, that cloudpickle runs code when loaded
    and that integer columns cannot hold missing values: true, but chosen here (the demo's
    models are loaded by this very environment; its integer columns are never missing), and
    a newcomer's first log should not open with six warnings about them."""
    mlflow_sklearn = logging.getLogger("mlflow.sklearn")
    level = mlflow_sklearn.level
    mlflow_sklearn.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            yield
    finally:
        mlflow_sklearn.setLevel(level)


def _seed_model(client, spec: DemoModel, experiment_id: str) -> None:
    with _quiet_about_the_demos_own_choices():
        _seed_versions(client, spec, experiment_id)
    for alias, number in spec.aliases.items():
        client.set_registered_model_alias(spec.name, alias, str(number))
    client.set_registered_model_tag(spec.name, SEED_TAG, SEED_RECIPE)


def _seed_versions(client, spec: DemoModel, experiment_id: str) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    with contextlib.suppress(MlflowException):
        client.delete_registered_model(spec.name)  # a half-seeded leftover
    client.create_registered_model(spec.name, tags=spec.tags, description=spec.description)
    for number, demo in enumerate(spec.build_versions(), start=1):
        example = demo.X.head(3)
        signature = infer_signature(demo.X, demo.estimator.predict(demo.X.head(20)))
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{spec.name}-v{number}"):
            mlflow.log_params({"rows": len(demo.X), **demo.tags})
            mlflow.log_metric("train_score", float(demo.estimator.score(demo.X, demo.y)))
            info = mlflow.sklearn.log_model(
                demo.estimator,
                name="model",
                signature=signature,
                input_example=example,
                pip_requirements=pip_requirements(),
                serialization_format="cloudpickle",
            )
        log_training_reference(client, info.model_id, demo.X)
        mv = client.create_model_version(
            spec.name,
            source=info.model_uri,
            run_id=info.run_id,
            tags=demo.tags,
            description=demo.description,
        )
        assert int(mv.version) == number, (
            f"{spec.name}: expected version {number}, got {mv.version}"
        )


def ensure_demo_models(tracking_uri: str, data_dir: Path) -> list[str]:
    """Make sure every demo model exists in the registry; return the names seeded now."""
    if demo_seeded(tracking_uri, data_dir):
        return []  # asking MLflow would cost its import and the database's schema check
    data_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir / SEED_LOCK):
        return seed_under_lock(tracking_uri, data_dir)


def seed_under_lock(tracking_uri: str, data_dir: Path) -> list[str]:
    """``ensure_demo_models`` for a caller already holding the seeding lock."""
    if demo_seeded(tracking_uri, data_dir):  # by whoever held the lock before
        mark_seeded(tracking_uri, data_dir)
        return []
    import mlflow
    from mlflow import MlflowClient

    with using_tracking_uri(tracking_uri):
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        missing = [spec for spec in DEMO_MODELS if not _is_seeded(client, spec.name)]
        if not missing:
            mark_seeded(tracking_uri, data_dir)
            return []
        experiment = client.get_experiment_by_name(DEMO_EXPERIMENT)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(
                DEMO_EXPERIMENT, artifact_location=embedded_artifact_root(data_dir).as_uri()
            )
        )
        for spec in missing:
            log.info("Seeding demo model %s", spec.name)
            _seed_model(client, spec, experiment_id)
        mlflow.end_run()
        mark_seeded(tracking_uri, data_dir)
        return [spec.name for spec in missing]
