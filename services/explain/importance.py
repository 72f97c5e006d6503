"""A model's global feature importance in the user's input columns: its own where it has
one (tree importances, linear coefficients on scaled inputs), else mean |SHAP| over
reference rows. Always said which."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from services.explain.explainer import VersionExplainer
from services.explain.structure import summed_by_owner

SHAP_ROWS = 50


@dataclass
class Importance:
    features: list[str]
    values: list[float]
    kind: str  # "impurity", "coefficients", "mean_abs_shap"
    what: str  # in words, for the chart's title
    reference: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        ranked = sorted(zip(self.features, self.values, strict=True), key=lambda p: -p[1])
        return {
            "kind": self.kind,
            "what": self.what,
            "reference": self.reference,
            "features": [{"feature": f, "importance": v} for f, v in ranked],
        }


def importance(explainer: VersionExplainer, deadline: float) -> Importance:
    parts, columns = explainer.parts, explainer.columns
    final, owners = parts.final, explainer.owners
    reference = explainer.reference
    if owners is not None and hasattr(final, "feature_importances_"):
        values = summed_by_owner(
            np.asarray(final.feature_importances_)[None, :], owners, len(columns)
        )[0]
        what = "impurity importance (the model's own feature_importances_)"
        return Importance(columns, _floats(values), "impurity", what, reference.describe())
    if owners is not None and hasattr(final, "coef_") and explainer.method.name == "linear":
        scale = parts.transform(reference.frame).std(axis=0)
        weights = np.abs(np.atleast_2d(final.coef_)).mean(axis=0) * scale
        values = summed_by_owner(weights[None, :], owners, len(columns))[0]
        what = (
            "|coefficient| × spread of each input as the model sees it (coefficients on "
            "scaled inputs)"
        )
        return Importance(columns, _floats(values), "coefficients", what, reference.describe())
    sample = reference.frame.sample(min(reference.rows, SHAP_ROWS), random_state=0)
    rows = explainer.explain(sample, deadline)
    matrix = np.array([[abs(c["contribution"]) for c in row.contributions] for row in rows])
    what = f"mean |SHAP| over {len(rows)} reference rows ({explainer.method.explained_output})"
    return Importance(
        columns, _floats(matrix.mean(axis=0)), "mean_abs_shap", what, reference.describe()
    )


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
