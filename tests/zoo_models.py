"""A zoo of models shaped the way real ones are, for the serve-parity harness: one custom
pyfunc model per signature, each covering every case that signature honestly holds.

- ``zoo.scalars``: text in and out, a datetime, bytes, an optional column, inference
  parameters with defaults, NaN answers (a missing optional value gives NaN)
- ``zoo.arrays``: an array column and chat-shaped rows of messages; nested per-row answers
- ``zoo.no_signature``: no signature at all; the model sees whatever the server parsed
- ``zoo.tensor``: tensor input (float64, shape (-1, 3))

Written as code (MLflow's models from code), so ``mlflow models serve`` in another process
loads the very same model.
"""

from __future__ import annotations

from pathlib import Path

from tests.code_models import fresh_registry, register_code_model, version_folder

SCALARS = "zoo.scalars"
ARRAYS = "zoo.arrays"
NO_SIGNATURE = "zoo.no_signature"
TENSOR = "zoo.tensor"
ZOO = (SCALARS, ARRAYS, NO_SIGNATURE, TENSOR)

SCALARS_CODE = """
import math
import mlflow
import pandas as pd

class Scalars(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        params = params or {}
        suffix, scale = params.get("suffix", "!"), params.get("scale", 1.0)
        extra = model_input["extra"] if "extra" in model_input else [math.nan] * len(model_input)
        return pd.DataFrame({
            "shout": [str(t).upper() + suffix for t in model_input["text"]],
            "year": [int(pd.Timestamp(w).year) for w in model_input["when"]],
            "size": [len(b) for b in model_input["blob"]],
            "scaled": [float(e) * scale for e in pd.Series(extra, dtype="float64")],
        })

mlflow.models.set_model(Scalars())
"""
ARRAYS_CODE = """
import mlflow

class Arrays(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        answers = []
        for tags, messages in zip(model_input["tags"], model_input["messages"]):
            said = [m["content"] for m in messages if m["role"] == "user"]
            answers.append({
                "reply": f"you said {said[-1] if said else 'nothing'}",
                "roles": [m["role"] for m in messages],
                "tags": {"count": len(tags), "first": tags[0] if len(tags) else None},
            })
        return answers

mlflow.models.set_model(Arrays())
"""
NO_SIGNATURE_CODE = """
import mlflow
import numpy as np
import pandas as pd

class Untyped(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        if isinstance(model_input, pd.DataFrame):
            return model_input.sum(axis=1, numeric_only=True)
        if isinstance(model_input, dict):
            return {key: np.asarray(value).tolist() for key, value in model_input.items()}
        array = np.asarray(model_input, dtype=float)
        return array.reshape(len(array), -1).sum(axis=1)

mlflow.models.set_model(Untyped())
"""
TENSOR_CODE = """
import mlflow
import numpy as np

class Tensor(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.asarray(model_input, dtype="float64").sum(axis=1)

mlflow.models.set_model(Tensor())
"""


def _signatures() -> dict[str, object]:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
    from mlflow.types.schema import Array, Object, Property

    message = Object([Property("role", "string"), Property("content", "string")])
    return {
        SCALARS: ModelSignature(
            inputs=Schema(
                [
                    ColSpec("string", "text"),
                    ColSpec("datetime", "when"),
                    ColSpec("binary", "blob"),
                    ColSpec("double", "extra", required=False),
                ]
            ),
            params=ParamSchema(
                [ParamSpec("suffix", "string", "!"), ParamSpec("scale", "double", 1.0)]
            ),
        ),
        ARRAYS: ModelSignature(
            inputs=Schema([ColSpec(Array("string"), "tags"), ColSpec(Array(message), "messages")])
        ),
        NO_SIGNATURE: None,
        TENSOR: ModelSignature(inputs=Schema([TensorSpec(np.dtype("float64"), (-1, 3))])),
    }


CODES = {
    SCALARS: SCALARS_CODE,
    ARRAYS: ARRAYS_CODE,
    NO_SIGNATURE: NO_SIGNATURE_CODE,
    TENSOR: TENSOR_CODE,
}


def register_zoo(data_dir: Path) -> dict[str, Path]:
    """Every zoo model as version 1 in the registry of ``data_dir``; each one's files."""
    signatures = _signatures()
    folders = {}
    with fresh_registry(data_dir) as registry:
        for name in ZOO:
            signature = signatures[name]
            options = {"signature": signature} if signature is not None else {}
            register_code_model(registry, name, CODES[name], **options)
            folders[name] = version_folder(registry, name, "1")
    return folders
