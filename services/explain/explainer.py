"""One model version's explainer: its parts, reference and SHAP method, built once per
version and cached; it explains rows, ranks features and sweeps one feature (what-if)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.errors import ConsoleError
from services.explain.explainers import NotExplainable, build_method
from services.explain.reference import TrainingReference
from services.explain.structure import ModelParts, input_owners, model_parts
from services.explain.text import text_columns
from services.registry.labels import label_of
from services.scoring.models import LoadedModel
from services.scoring.prediction import plain


class ExplanationFailed(ConsoleError):
    error_code = "EXPLANATION_FAILED"
    http_status = 422
    title = "This prediction cannot be explained"


class ExplanationTooSlow(ConsoleError):
    error_code = "EXPLANATION_TIMEOUT"
    http_status = 503
    title = "The explanation took too long"


@dataclass
class RowExplanation:
    base_value: float
    output: float
    prediction: Any
    label: str | None
    probability: float | None
    contributions: list[dict[str, Any]]
    probabilities: dict[str, float] | None = None  # every class's, for a classifier

    def to_dict(self) -> dict[str, Any]:
        body = {
            "base_value": self.base_value,
            "output": self.output,
            "prediction": self.prediction,
            "contributions": self.contributions,
        }
        if self.label is not None:
            body["label"] = self.label
        if self.probability is not None:
            body["probability"] = self.probability
        if self.probabilities is not None:
            body["probabilities"] = self.probabilities
        return body


class VersionExplainer:
    def __init__(self, model: LoadedModel, reference: TrainingReference) -> None:
        self.model, self.reference = model, reference
        self.parts: ModelParts = model_parts(model)
        self.columns = list(reference.frame.columns)
        owners = input_owners(self.parts, reference.frame) if self.parts.raw is not None else None
        self.owners = owners
        self.method = build_method(model, self.parts, reference.frame, owners)
        self.text = text_columns(reference.frame, model.text_columns)  # each one feature

    @property
    def is_classifier(self) -> bool:
        return self.parts.classes is not None and self.parts.has_probabilities

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray | None:
        return self.parts.raw.predict_proba(frame) if self.is_classifier else None

    def explain(self, frame: pd.DataFrame, deadline: float) -> list[RowExplanation]:
        """Each row explained; the batch stops with ``ExplanationTooSlow`` at ``deadline``
        (time.monotonic), checked between rows, since one row's cost is bounded."""
        frame = frame[self.columns].reset_index(drop=True)
        probabilities = self.probabilities(frame)
        targets = None if probabilities is None else probabilities.argmax(axis=1)
        rows: list[RowExplanation] = []
        for start in range(len(frame)):
            if time.monotonic() > deadline:
                raise ExplanationTooSlow(
                    f"Explaining stopped after {start} of {len(frame)} rows: over the time "
                    "an explanation may take.",
                    hint="Explain fewer rows at a time.",
                )
            part = slice(start, start + 1)
            rows += self._explained(
                frame.iloc[part], None if targets is None else targets[part], probabilities
            )
        return rows

    def _explained(self, frame: pd.DataFrame, targets: Any, probabilities: Any) -> list:
        try:
            explained = self.method.explain(frame, targets)
        except NotExplainable as error:
            raise ExplanationFailed(
                f"{self.model.name} version {self.model.version} cannot be explained: {error}."
            ) from None
        rows = []
        for i in range(len(frame)):
            index = frame.index[i]
            rows.append(
                RowExplanation(
                    base_value=float(explained.base_values[i]),
                    output=float(explained.outputs[i]),
                    prediction=self._prediction(targets, i, frame.iloc[[i]]),
                    label=None,
                    probability=None
                    if targets is None
                    else round(float(probabilities[index, targets[i]]), 6),
                    probabilities=None
                    if targets is None
                    else self._class_probabilities(probabilities[index]),
                    contributions=[
                        {
                            "feature": str(column),
                            "value": plain(frame.iloc[i][column]),
                            "contribution": float(explained.contributions[i, j]),
                        }
                        for j, column in enumerate(self.columns)
                    ],
                )
            )
            rows[-1].label = label_of(self.model.labels, rows[-1].prediction)
        return rows

    def _class_probabilities(self, row: np.ndarray) -> dict[str, float]:
        """Keyed as the answers' ``probabilities`` are (``class_probabilities``)."""
        return {
            str(plain(c)): round(float(p), 6) for c, p in zip(self.parts.classes, row, strict=True)
        }

    def _prediction(self, targets: Any, i: int, row: pd.DataFrame) -> Any:
        if targets is not None:
            return plain(self.parts.classes[targets[i]])
        output = np.asarray(self.model.pyfunc.predict(row)).reshape(-1)
        return plain(output[0])

    def output_of(self, frame: pd.DataFrame, target: int | None) -> np.ndarray:
        """The model's output for these rows: the probability of class ``target`` for a
        classifier, else its prediction (numbers only)."""
        if target is not None and self.is_classifier:
            return self.parts.raw.predict_proba(frame[self.columns])[:, target]
        output = self.model.pyfunc.predict(frame[self.columns])
        return np.asarray(output, dtype=float).reshape(len(frame), -1)[:, 0]
