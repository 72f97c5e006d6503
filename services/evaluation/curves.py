"""Curves of a score against a yes/no truth, kept in bounded memory as a file streams by.

Each distinct score keeps its count of positives and negatives, so the ROC and
precision-recall curves and the area under the ROC curve are exactly scikit-learn's (which
also works on distinct thresholds). Tree models give few distinct scores; a model whose
scores take more than ``MAX_DISTINCT`` values (a logistic regression on a big file) has its
scores rounded to ``ROUNDED_DECIMALS`` decimals from then on, and says ``exact: False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_DISTINCT = 200_000  # any request of the API (at most 100,000 rows) stays exact
ROUNDED_DECIMALS = 5
CURVE_POINTS = 101  # what a chart draws and an answer carries


@dataclass
class ScoreCounts:
    """Positives and negatives per distinct score, merged chunk by chunk."""

    scores: np.ndarray = field(default_factory=lambda: np.empty(0))
    positives: np.ndarray = field(default_factory=lambda: np.empty(0))
    negatives: np.ndarray = field(default_factory=lambda: np.empty(0))
    exact: bool = True

    def add(self, scores: np.ndarray, truth: np.ndarray) -> None:
        """``truth``: True where the row is of the positive class."""
        scores = np.asarray(scores, dtype=float)
        if not self.exact:
            scores = np.round(scores, ROUNDED_DECIMALS)
        truth = np.asarray(truth, dtype=bool)
        merged = np.concatenate([self.scores, scores])
        weights_pos = np.concatenate([self.positives, truth.astype(float)])
        weights_neg = np.concatenate([self.negatives, (~truth).astype(float)])
        self._keep(merged, weights_pos, weights_neg)
        if self.exact and len(self.scores) > MAX_DISTINCT:
            self.exact = False
            self._keep(np.round(self.scores, ROUNDED_DECIMALS), self.positives, self.negatives)

    def _keep(self, scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> None:
        distinct, inverse = np.unique(scores, return_inverse=True)
        self.scores = distinct
        self.positives = np.bincount(inverse, weights=positives, minlength=len(distinct))
        self.negatives = np.bincount(inverse, weights=negatives, minlength=len(distinct))

    def _cumulative(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """True and false positives at each threshold, from the highest score down."""
        order = slice(None, None, -1)
        return (
            np.cumsum(self.positives[order]),
            np.cumsum(self.negatives[order]),
            self.scores[order],
        )

    @property
    def defined(self) -> bool:
        """An area needs both classes among the rows."""
        return bool(self.positives.sum() > 0 and self.negatives.sum() > 0)

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tps, fps, thresholds = self._cumulative()
        tpr = np.concatenate([[0.0], tps / tps[-1]])
        fpr = np.concatenate([[0.0], fps / fps[-1]])
        return fpr, tpr, np.concatenate([[np.inf], thresholds])

    def auc(self) -> float | None:
        if not self.defined:
            return None
        fpr, tpr, _ = self.roc()
        return float(np.trapezoid(tpr, fpr))

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall from the highest threshold down, starting at recall 0."""
        tps, fps, _ = self._cumulative()
        precision = tps / np.maximum(tps + fps, 1)
        recall = tps / tps[-1] if tps[-1] else np.zeros_like(tps)
        return np.concatenate([[1.0], precision]), np.concatenate([[0.0], recall])

    def curves(self) -> dict[str, Any] | None:
        """Both curves, thinned to at most ``CURVE_POINTS`` points each, for a chart."""
        if not self.defined:
            return None
        fpr, tpr, _ = self.roc()
        precision, recall = self.precision_recall()
        return {
            "roc": {"fpr": thin(fpr), "tpr": thin(tpr)},
            "precision_recall": {"recall": thin(recall), "precision": thin(precision)},
            "exact": self.exact,
        }


def thin(values: np.ndarray, points: int = CURVE_POINTS) -> list[float]:
    """At most ``points`` values, evenly spaced, the first and last always kept."""
    if len(values) <= points:
        chosen = values
    else:
        chosen = values[np.unique(np.linspace(0, len(values) - 1, points).round().astype(int))]
    return [round(float(v), 6) for v in chosen]


@dataclass
class CalibrationBins:
    """A reliability curve of one class: mean predicted probability against how often the
    class was the truth, in ``bins`` equal-width bins (scikit-learn's ``uniform``)."""

    bins: int = 10
    counts: np.ndarray = field(default_factory=lambda: np.zeros(10))
    predicted: np.ndarray = field(default_factory=lambda: np.zeros(10))
    observed: np.ndarray = field(default_factory=lambda: np.zeros(10))

    def add(self, probabilities: np.ndarray, truth: np.ndarray) -> None:
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        which = np.searchsorted(edges[1:-1], probabilities)  # as scikit-learn bins them
        self.counts += np.bincount(which, minlength=self.bins)
        self.predicted += np.bincount(which, weights=probabilities, minlength=self.bins)
        self.observed += np.bincount(which, weights=truth.astype(float), minlength=self.bins)

    def curve(self) -> dict[str, list[float]]:
        filled = self.counts > 0
        return {
            "mean_predicted": [float(v) for v in self.predicted[filled] / self.counts[filled]],
            "fraction_positive": [float(v) for v in self.observed[filled] / self.counts[filled]],
            "rows": [int(v) for v in self.counts[filled]],
        }
