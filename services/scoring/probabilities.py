"""Class probabilities as columns of a scored table: one ``probability_<class>`` column per
class, in the model's own class order (``classes_``), computed on the same rows and chunks
as the predictions, so a row that could not be scored has neither."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from services.errors import ConsoleError, InvalidInput
from services.scoring.models import LoadedModel
from services.scoring.prediction import has_probabilities, model_error, plain

PROBABILITY_PREFIX = "probability_"


class NoProbabilities(InvalidInput):
    error_code = "NO_PROBABILITIES"
    http_status = 422


def probability_columns(model: LoadedModel) -> list[str]:
    """The columns this model's probabilities go into; ``NoProbabilities`` when it has none."""
    if not has_probabilities(model):
        raise NoProbabilities(
            f"{model.name} version {model.version} gives no class probabilities (it has no "
            "predict_proba), so no probability columns can be added.",
            hint="Score without class probabilities.",
        )
    raw = model.pyfunc.get_raw_model()
    width = len(getattr(raw, "classes_", []))
    classes = getattr(raw, "classes_", range(width))
    return [f"{PROBABILITY_PREFIX}{plain(c)}" for c in classes]


def probability_matrix(model: LoadedModel, data: Any) -> np.ndarray:
    """Rows × classes for rows the model has just predicted; its failure in words."""
    try:
        return np.asarray(model.predict_proba(data), dtype=float)
    except ConsoleError:
        raise
    except Exception as exc:
        raise model_error(model, exc) from None


def probability_frame(
    matrices: list[np.ndarray], columns: list[str], scored: pd.Index, index: pd.Index
) -> pd.DataFrame:
    """The probabilities of the ``scored`` rows spread over ``index`` (empty elsewhere)."""
    if matrices:
        frame = pd.DataFrame(np.vstack(matrices), columns=columns, index=scored)
    else:
        frame = pd.DataFrame(np.empty((0, len(columns))), columns=columns)
    return frame.reindex(index)


def top_probabilities(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The predicted class's probability of each row that has probabilities."""
    values = frame[columns].to_numpy(dtype=float)
    values = values[~np.isnan(values).any(axis=1)]
    return values.max(axis=1) if len(values) else values.reshape(0)
