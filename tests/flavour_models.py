"""Real XGBoost and LightGBM models, logged with their own MLflow flavours (``mlflow.xgboost``,
``mlflow.lightgbm``), registered as users register them: a classifier and a regressor of each,
with a training reference, under one registered model per task so that Compare sets one
flavour against the other (Champion: XGBoost, Challenger: LightGBM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from services.explain.reference import REFERENCE_FILE
from services.registry.demo import IRIS_FEATURES
from tests.code_models import CodeRegistry, fresh_registry, pinned

CLASSIFIER = "test.flavours.iris"  # v1 XGBoost, v2 LightGBM
REGRESSOR = "test.flavours.house"  # v1 XGBoost, v2 LightGBM
HOUSE_FEATURES = ["area", "rooms", "age", "distance"]
XGBOOST_ONLY = "test.flavours.xgboost_only"  # for the environment without xgboost


def iris_frame() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    return pd.DataFrame(iris.data, columns=IRIS_FEATURES), iris.target


def house_frame(rows: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    generator = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "area": generator.uniform(30, 200, rows),
            "rooms": generator.integers(1, 7, rows).astype(float),
            "age": generator.uniform(0, 80, rows),
            "distance": generator.uniform(0, 30, rows),
        }
    )
    price = 3000 * frame["area"] + 8000 * frame["rooms"] - 900 * frame["age"]
    return frame, (price - 2000 * frame["distance"] + generator.normal(0, 5000, rows)).to_numpy()


def register_flavour_models(data_dir: Path) -> None:
    import lightgbm
    import xgboost

    iris, classes = iris_frame()
    house, prices = house_frame()
    xgb_options = {"n_estimators": 30, "max_depth": 3, "learning_rate": 0.3}
    lgbm_options = {"n_estimators": 30, "num_leaves": 8, "min_child_samples": 5, "verbose": -1}
    with fresh_registry(data_dir) as registry:
        for name, frame, target, models in (
            (
                CLASSIFIER,
                iris,
                classes,
                [
                    xgboost.XGBClassifier(**xgb_options),
                    lightgbm.LGBMClassifier(**lgbm_options),
                ],
            ),
            (
                REGRESSOR,
                house,
                prices,
                [xgboost.XGBRegressor(**xgb_options), lightgbm.LGBMRegressor(**lgbm_options)],
            ),
        ):
            registry.client.create_registered_model(name)
            for model in models:
                _register(registry, name, model.fit(frame, target), frame)
            registry.client.set_registered_model_alias(name, "Champion", "1")
            registry.client.set_registered_model_alias(name, "Challenger", "2")
        registry.client.create_registered_model(XGBOOST_ONLY)
        _register(
            registry, XGBOOST_ONLY, xgboost.XGBClassifier(**xgb_options).fit(iris, classes), iris
        )


def _register(registry: CodeRegistry, name: str, model, frame: pd.DataFrame) -> None:
    """Logged with the model's own flavour, its requirements pinned as MLflow pins them, and
    the training reference beside it."""
    import mlflow
    from mlflow.models import infer_signature

    flavour = mlflow.xgboost if type(model).__module__.startswith("xgboost") else mlflow.lightgbm
    package = flavour.__name__.split(".")[-1]
    signature = infer_signature(frame, model.predict(frame))
    with mlflow.start_run(experiment_id=registry.experiment_id):
        info = flavour.log_model(
            model,
            name="model",
            signature=signature,
            input_example=frame.head(3),
            pip_requirements=pinned("mlflow", package, "scikit-learn", "pandas", "numpy"),
        )
    reference = registry.data_dir / "reference" / REFERENCE_FILE
    reference.parent.mkdir(exist_ok=True)
    frame.to_parquet(reference, index=False)
    registry.client.log_model_artifact(info.model_id, str(reference))
    registry.client.create_model_version(name, source=info.model_uri, run_id=info.run_id)
