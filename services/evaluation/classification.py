"""A classifier's metrics against the truth, from counts kept chunk by chunk: the confusion
counts give accuracy, balanced accuracy and the per-class and macro precision, recall and F1;
with probabilities, a sum gives the log loss and per-class score counts give the ROC AUC and
the curves (``curves.ScoreCounts``). Every figure follows scikit-learn's definition, so the
two agree on the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.evaluation.classes import Classes
from services.evaluation.curves import CalibrationBins, ScoreCounts

PAIR = 1_000_003  # a pair of class codes as one number: truth * PAIR + prediction


@dataclass
class ClassTally:
    """One version's answers against the truth. ``probability_codes``: the class code of each
    column of the version's probabilities (its own ``classes_`` order); None without them."""

    classes: Classes
    probability_codes: list[int] | None = None
    curves: bool = True
    rows: int = 0
    pairs: dict[int, int] = field(default_factory=dict)
    log_loss_sum: float = 0.0
    scores: dict[int, ScoreCounts] = field(default_factory=dict)
    calibration: dict[int, CalibrationBins] = field(default_factory=dict)

    def add(self, truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None) -> None:
        """Codes of the true and predicted classes of scored rows with a known label, and
        their probabilities (rows × the version's classes)."""
        self.rows += len(truth)
        combined, counts = np.unique(truth * PAIR + predicted, return_counts=True)
        for pair, count in zip(combined.tolist(), counts.tolist(), strict=True):
            self.pairs[pair] = self.pairs.get(pair, 0) + count
        if proba is not None and self.probability_codes is not None and len(truth):
            self._add_probabilities(truth, proba)

    def _add_probabilities(self, truth: np.ndarray, proba: np.ndarray) -> None:
        codes = np.asarray(self.probability_codes)
        hit = truth[:, None] == codes[None, :]  # rows × columns: the true class's column
        eps = np.finfo(float).eps  # scikit-learn clips the same way
        clipped = np.clip(proba, eps, 1 - eps)
        self.log_loss_sum += float(-(np.log(clipped) * hit).sum())
        if not self.curves:
            return
        for column in self._curve_columns():
            code = int(codes[column])
            self.scores.setdefault(code, ScoreCounts()).add(proba[:, column], hit[:, column])
            self.calibration.setdefault(code, CalibrationBins()).add(
                proba[:, column], hit[:, column]
            )

    def _curve_columns(self) -> list[int]:
        """Binary: the positive class (the second of ``classes_``, as scikit-learn takes it);
        otherwise every class, one against the rest."""
        width = len(self.probability_codes or [])
        return [1] if width == 2 else list(range(width))

    def matrix(self) -> np.ndarray:
        size = len(self.classes.keys)
        counts = np.zeros((size, size), dtype=np.int64)
        for pair, count in self.pairs.items():
            counts[pair // PAIR, pair % PAIR] = count
        return counts

    def metrics(self) -> dict[str, float | None]:
        matrix = self.matrix()
        if not self.rows:
            return {}
        per_class = _per_class(matrix)
        present = (per_class["support"] > 0) | (matrix.sum(axis=0) > 0)
        supported = per_class["support"] > 0
        figures: dict[str, float | None] = {
            "accuracy": float(np.trace(matrix) / self.rows),
            "balanced_accuracy": float(per_class["recall"][supported].mean()),
            "precision_macro": float(per_class["precision"][present].mean()),
            "recall_macro": float(per_class["recall"][present].mean()),
            "f1_macro": float(per_class["f1"][present].mean()),
        }
        if self.probability_codes is not None:
            figures["log_loss"] = self.log_loss_sum / self.rows
            figures["roc_auc"] = self._roc_auc() if self.curves else None
        return figures

    def _roc_auc(self) -> float | None:
        """Binary: the positive class's area; several classes: the mean of one-vs-rest
        areas (None when a class never occurs, as scikit-learn refuses then)."""
        areas = [self.scores[code].auc() for code in self.scores]
        if not areas or any(area is None for area in areas):
            return None
        return float(np.mean(areas))

    def per_class(self) -> dict[str, dict[str, Any]]:
        matrix = self.matrix()
        figures = _per_class(matrix)
        answer = {}
        for code, key in enumerate(self.classes.keys):
            answer[key] = {
                "name": self.classes.shown(code),
                "precision": float(figures["precision"][code]),
                "recall": float(figures["recall"][code]),
                "f1": float(figures["f1"][code]),
                "support": int(figures["support"][code]),
            }
        return answer

    def confusion_matrix(self) -> dict[str, Any]:
        shown = [self.classes.shown(code) for code in range(len(self.classes.keys))]
        return {
            "labels": shown,
            "values": list(self.classes.keys),
            "matrix": self.matrix().tolist(),
        }

    def chart_curves(self) -> dict[str, Any]:
        """ROC, precision-recall and calibration per class (binary: the positive class)."""
        answer = {}
        for code, counts in self.scores.items():
            drawn = counts.curves()
            if drawn is not None:
                answer[self.classes.shown(code)] = {
                    **drawn,
                    "calibration": self.calibration[code].curve(),
                }
        return answer


def _per_class(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """scikit-learn's per-class figures: 0 where a ratio has nothing to divide by."""
    tp = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1_denominator = support + predicted
        f1 = np.where(f1_denominator > 0, 2 * tp / f1_denominator, 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}
