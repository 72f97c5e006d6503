"""Test-only models registered next to the demo models: tensor input, no signature, stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.registry.demo import IRIS_FEATURES, using_tracking_uri
from services.settings import embedded_artifact_root

TENSOR_MODEL = "test.models.iris_tensor"
NO_SIGNATURE_MODEL = "test.models.no_signature"
STAGED_MODEL = "test.models.staged"
HOSTILE_DESCRIPTION = """## Staged tree

[click me](javascript:alert('md')) [data](data:text/html;base64,PHNjcmlwdD4=)
[encoded](&#106;avascript:alert(2)) <script>window.injected = true</script>
<img src=x onerror="window.injected = true"> [docs](https://mlflow.org/docs)
![pixel](http://127.0.0.1:9/p.gif) ![reference pixel][px] ![px]

[px]: http://127.0.0.1:9/ref.gif
"""
EMPTY_MODEL = "test.models.empty"
TWO_SIGNATURES_MODEL = "test.models.two_signatures"  # v2 does without sepal_width
TEST_EXPERIMENT = "/console-test-models"


def _iris_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    return iris.data.astype("float64"), iris.target


def _log_and_register(client, name: str, estimator, experiment_id: str, **log_kwargs) -> None:
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            pip_requirements=["scikit-learn", "numpy"],
            serialization_format="cloudpickle",
            **log_kwargs,
        )
    client.create_model_version(name, source=info.model_uri, run_id=info.run_id)


def register_test_models(tracking_uri: str, data_dir: Path) -> None:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X, y = _iris_arrays()
    with using_tracking_uri(tracking_uri):
        client = MlflowClient(tracking_uri, tracking_uri)
        experiment_id = client.create_experiment(
            TEST_EXPERIMENT, artifact_location=embedded_artifact_root(data_dir).as_uri()
        )
        tensor = LogisticRegression(max_iter=500).fit(X, y)
        client.create_registered_model(TENSOR_MODEL)
        _log_and_register(
            client,
            TENSOR_MODEL,
            tensor,
            experiment_id,
            signature=infer_signature(X, tensor.predict(X)),
        )
        client.create_registered_model(NO_SIGNATURE_MODEL)
        frame = pd.DataFrame(X, columns=IRIS_FEATURES)
        plain = DecisionTreeClassifier(random_state=0).fit(frame, y)
        _log_and_register(client, NO_SIGNATURE_MODEL, plain, experiment_id)

        client.create_registered_model(STAGED_MODEL, description=HOSTILE_DESCRIPTION)
        for depth in (1, 3):
            tree = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(frame, y)
            signature = infer_signature(frame, tree.predict(frame))
            _log_and_register(client, STAGED_MODEL, tree, experiment_id, signature=signature)
        client.transition_model_version_stage(STAGED_MODEL, "1", "Production")
        client.transition_model_version_stage(STAGED_MODEL, "2", "Staging")
        client.create_registered_model(EMPTY_MODEL)
        _register_two_signatures(client, frame, y, experiment_id)


def _register_two_signatures(client, frame, y, experiment_id: str) -> None:
    from mlflow.models import infer_signature
    from sklearn.tree import DecisionTreeClassifier

    client.create_registered_model(TWO_SIGNATURES_MODEL)
    for columns in (IRIS_FEATURES, [c for c in IRIS_FEATURES if c != "sepal_width"]):
        tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(frame[columns], y)
        signature = infer_signature(frame[columns], tree.predict(frame[columns]))
        _log_and_register(client, TWO_SIGNATURES_MODEL, tree, experiment_id, signature=signature)
