"""Models for the explanation tests, registered next to the demo models: a custom pyfunc
(no predict_proba, no known structure) with and without a training reference, and a
k-nearest-neighbours classifier (probabilities, no structure shap knows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.registry.demo import house_frame, log_training_reference, using_tracking_uri

FORMULA_MODEL = "test.models.formula"  # version 1: with a reference; 2: without
NEIGHBOURS_MODEL = "test.models.neighbours"


def formula(frame) -> np.ndarray:
    """A price no explainer knows the structure of (an interaction, a threshold)."""
    young = (frame["age_years"] < 50).astype(float)
    return (1_000 * frame["living_area_sqm"] + 5_000 * frame["bedrooms"] * young).to_numpy(float)


def register_explain_models(tracking_uri: str, data_dir: Path) -> None:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    class Formula(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return formula(model_input)

    X = house_frame(300)
    with using_tracking_uri(tracking_uri):
        client = MlflowClient(tracking_uri, tracking_uri)
        try:
            client.create_registered_model(FORMULA_MODEL)
        except MlflowException:
            return  # registered by an earlier test module of this session
        for with_reference in (True, False):
            with mlflow.start_run():
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=Formula(),
                    input_example=X.head(3),
                    pip_requirements=["pandas"],
                )
            if with_reference:
                log_training_reference(client, info.model_id, X)
            client.create_model_version(FORMULA_MODEL, source=info.model_uri, run_id=info.run_id)
        _register_neighbours(client)


def _register_neighbours(client) -> None:
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.neighbors import KNeighborsClassifier

    from services.registry.demo import _iris_data

    X, y = _iris_data()
    knn = KNeighborsClassifier(n_neighbors=7).fit(X, y)
    client.create_registered_model(NEIGHBOURS_MODEL)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            knn,
            name="model",
            signature=infer_signature(X, y),
            input_example=X.head(3),
            pip_requirements=["pandas"],
            serialization_format="cloudpickle",
        )
    log_training_reference(client, info.model_id, X)
    client.create_model_version(NEIGHBOURS_MODEL, source=info.model_uri, run_id=info.run_id)
