"""Run a loaded model on conformed input, in chunks, and shape its output for people and files."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from services.errors import ConsoleError, ModelRejectedInput, PredictionFailed
from services.registry.dependencies import check_environment
from services.registry.signature import ColumnInfo, SignatureInfo, TensorInfo
from services.scoring.load_errors import dependency_missing, folder_environment
from services.scoring.models import LoadedModel
from services.scoring.validation import ConformedInput

PREDICTION_COLUMN = "prediction"
MAX_ERROR_DETAIL = 200


def _chunks(data: pd.DataFrame | np.ndarray, rows: int) -> Iterator[pd.DataFrame | np.ndarray]:
    if len(data) <= rows:
        yield data
        return
    for start in range(0, len(data), rows):
        yield (
            data.iloc[start : start + rows]
            if isinstance(data, pd.DataFrame)
            else data[start : start + rows]
        )


def raw_outputs(
    model: LoadedModel, conformed: ConformedInput, chunk_rows: int
) -> Iterator[tuple[Any, Any]]:
    """Each chunk of the input with the model's own output for it."""
    for chunk in _chunks(conformed.data, chunk_rows):
        try:
            yield chunk, model.predict(chunk, conformed.params, exact=conformed.exact)
        except ConsoleError:
            raise
        except Exception as exc:
            raise model_error(model, exc) from None


def model_error(model: LoadedModel, exc: Exception) -> ConsoleError:
    """The model's own failure in words: refusing a value (ValueError and the like, MLflow's
    schema checks) is the input's problem; anything else is the model's."""
    from mlflow.exceptions import MlflowException

    if isinstance(exc, ModuleNotFoundError) and exc.name and model.files is not None:
        environment = check_environment(folder_environment(model.files))
        which = f"{model.name} version {model.version}"
        return dependency_missing(which, exc.name, environment, "predicting")
    text = str(exc).strip()
    detail = (text.splitlines()[0] if text else type(exc).__name__)[:MAX_ERROR_DETAIL]
    if isinstance(exc, (ValueError, TypeError, KeyError, IndexError, MlflowException)):
        return ModelRejectedInput(
            f"{model.name} version {model.version} could not score this input: {detail}",
            detail=detail,
            hint="Check the values against the signature (Model Configuration); if they look "
            "right, tell the model's owner.",
        )
    return PredictionFailed(
        f"{model.name} version {model.version} failed while predicting "
        f"({type(exc).__name__}): {detail}",
        hint="Try again; if it keeps failing, tell the model's owner.",
    )


def plain(value: Any) -> Any:
    """A JSON-safe Python value: numpy scalars unwrapped, NaN as null, bytes as base64."""
    if value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):  # JSON has no bytes: base64, as MLflow sends
        return base64.b64encode(value).decode("ascii")
    return value


def jsonable(output: Any) -> list[Any]:
    """Scalars for single-column output, one object per row for several named columns."""
    if isinstance(output, pd.DataFrame):
        if output.shape[1] == 1:
            return [plain(v) for v in output.iloc[:, 0].tolist()]
        return [{str(k): plain(v) for k, v in row.items()} for row in output.to_dict("records")]
    if isinstance(output, pd.Series):
        return [plain(v) for v in output.tolist()]
    if isinstance(output, np.ndarray):
        if output.ndim == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if output.dtype.kind in "iub" or (output.dtype.kind == "f" and np.isfinite(output).all()):
            return output.tolist()  # already plain Python numbers, nothing to replace
        return [_plain_nested(v) for v in output.tolist()]
    if isinstance(output, dict):
        return jsonable(pd.DataFrame(output))
    if isinstance(output, list):
        return [_plain_nested(v) for v in output]
    return [plain(output)]


def _plain_nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain_nested(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain_nested(v) for k, v in value.items()}
    return plain(value)


def output_names(output: Any) -> list[str]:
    """The columns ``output_frame`` makes of one output: ``prediction``, or
    ``prediction_<name>`` (``prediction_<i>``) for each column of a wider output."""
    if isinstance(output, pd.DataFrame) and output.shape[1] > 1:
        return [f"{PREDICTION_COLUMN}_{name}" for name in output.columns]
    if isinstance(output, np.ndarray) and output.ndim == 2 and output.shape[1] > 1:
        return [f"{PREDICTION_COLUMN}_{i}" for i in range(output.shape[1])]
    return [PREDICTION_COLUMN]


def output_frame(output: Any, index: pd.Index) -> pd.DataFrame:
    """The model's output as columns to append to a table (named by ``output_names``)."""
    names = output_names(output)
    if isinstance(output, pd.DataFrame) and len(names) > 1:
        frame = output.set_axis(names, axis=1)
    elif len(names) > 1:
        frame = pd.DataFrame(output, columns=names)
    elif isinstance(output, np.ndarray) and output.dtype.kind in "iubf" and output.ndim <= 2:
        frame = pd.DataFrame({PREDICTION_COLUMN: output.reshape(-1)})  # numbers as they are
    else:
        frame = pd.DataFrame({PREDICTION_COLUMN: jsonable(output)})
    frame.index = index
    return _bytes_as_base64(frame)


def _bytes_as_base64(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of bytes written as base64 text (a file, like JSON, has no bytes)."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and infer_dtype(column, skipna=True) in ("bytes", "mixed"):
            frame[name] = column.map(plain)
    return frame


def output_columns(signature: SignatureInfo) -> list[str]:
    """The columns ``output_frame`` makes of this model's output, as far as its output
    signature tells; [] when it does not."""
    outputs = signature.outputs
    if len(outputs) == 1 and isinstance(outputs[0], TensorInfo):
        width = outputs[0].features or 1
        return (
            [f"{PREDICTION_COLUMN}_{i}" for i in range(width)] if width > 1 else [PREDICTION_COLUMN]
        )
    names = [o.name for o in outputs if isinstance(o, ColumnInfo)]
    if not names or len(names) != len(outputs):
        return []
    if len(names) == 1:
        return [PREDICTION_COLUMN]
    return [f"{PREDICTION_COLUMN}_{name}" for name in names]


def outputs_frame(parts: list[tuple[int, Any]], index: pd.Index) -> pd.DataFrame:
    """The model's outputs, one per part of ``parts`` rows, as columns on ``index``. Each
    part's rows are found by position, so tensor input (a plain array) works too."""
    frames, start = [], 0
    for rows, output in parts:
        frames.append(output_frame(output, index[start : start + rows]))
        start += rows
    return frames[0] if len(frames) == 1 else pd.concat(frames)


NULLABLE_KINDS = {"i": "Int64", "u": "UInt64", "b": "boolean"}


def with_gaps(predicted: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Predictions spread over all of ``index``, empty where a row was not scored; whole
    numbers stay whole (class 1 is written 1, not 1.0, next to a row that failed)."""
    nullable = {
        c: NULLABLE_KINDS[t.kind] for c, t in predicted.dtypes.items() if t.kind in NULLABLE_KINDS
    }
    return predicted.astype(nullable).reindex(index)


def has_probabilities(model: LoadedModel) -> bool:
    """Whether the model (through its pipeline, if any) exposes ``predict_proba``."""
    try:
        raw = model.pyfunc.get_raw_model() if hasattr(model.pyfunc, "get_raw_model") else None
    except Exception:  # flavours without a raw model say so in their own way
        return False
    return raw is not None and hasattr(raw, "predict_proba")


def class_probabilities(model: LoadedModel, conformed: ConformedInput) -> list[dict[str, float]]:
    """Per-class probabilities for classifiers that expose ``predict_proba``."""
    raw = model.pyfunc.get_raw_model() if has_probabilities(model) else None
    if raw is None:
        raise PredictionFailed(
            f"{model.name} version {model.version} does not provide class probabilities."
        )
    probabilities = raw.predict_proba(conformed.data)  # raw is in hand: asked once
    classes = [str(plain(c)) for c in getattr(raw, "classes_", range(probabilities.shape[1]))]
    return [
        {cls: round(float(p), 6) for cls, p in zip(classes, row, strict=True)}
        for row in probabilities
    ]


def display_records(frame: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows fit to show in a grid or send as JSON: NaN as empty, at most ``limit`` rows."""
    shown = frame if limit is None else frame.head(limit)
    return shown.astype(object).where(shown.notna(), None).to_dict("records")
