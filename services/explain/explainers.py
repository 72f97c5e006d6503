"""SHAP explainers over a model's parts, each answering in the user's own input columns.

- ``tree``: shap's exact TreeExplainer for tree ensembles; forests are explained in
  probability space, boosted trees in their log-odds, as ``explained_output`` says.
- ``linear``: shap's LinearExplainer for linear models; a logistic model is explained in its
  own log-odds (score) space, as ``explained_output`` says.
- ``permutation``: shap's model-agnostic PermutationExplainer with a bounded number of model
  evaluations; it is additive by construction (each permutation telescopes).

Pipelines are explained at their final estimator and the contributions of its columns summed
back into the input column each came from (``structure.input_owners``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.explain.structure import ModelParts, dense, summed_by_owner
from services.scoring.models import LoadedModel

LINEAR_BACKGROUND_ROWS = 1_000
AGNOSTIC_BACKGROUND_ROWS = 50
PERMUTATIONS = 10
AVERAGED_PROBABILITY = {
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
}
TREE_FAMILIES = ("Forest", "Trees", "Tree", "GradientBoosting", "XGB", "LGBM", "CatBoost")


class NotExplainable(ValueError):
    """The model's output is not a number an explanation could add up to."""


@dataclass
class Explained:
    """Per row: the base value, the contribution of each input column, and the explained
    output (base + contributions)."""

    base_values: np.ndarray
    contributions: np.ndarray
    outputs: np.ndarray


def _pick(values: Any, base: Any, targets: np.ndarray | None, complement: float) -> tuple:
    """The explanation of each row's own target class out of shap's shapes: (n, F) for one
    output, (n, F, K) for several, a list of K (n, F) in older shap; a two-class model that
    explains only class 1 is turned round for rows whose class is 0 (``complement - base``:
    1 for probabilities, 0 for log-odds)."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    values, base = np.asarray(values, dtype=float), np.atleast_1d(np.asarray(base, dtype=float))
    rows = np.arange(values.shape[0])
    if targets is None:
        return values if values.ndim == 2 else values[:, :, 0], np.full(len(rows), base[0])
    if values.ndim == 3:
        return values[rows, :, targets], base[targets]
    sign = np.where(targets == 1, 1.0, -1.0)
    return values * sign[:, None], np.where(targets == 1, base[0], complement - base[0])


def as_float32(values: np.ndarray) -> np.ndarray:
    """scikit-learn's trees compare float32 values with their float32 thresholds; shap
    compares float64, so a value on a threshold would take the other branch there and the
    explanation would not add up to the model's own output."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def own_output(final: Any, X: np.ndarray, targets: np.ndarray | None, probability: bool) -> Any:
    """The final estimator's own output for each row's target, computed apart from the
    explanation, so ``base + contributions = output`` is a check, not a definition."""
    X = named_as_fitted(final, X)
    if targets is None:
        return np.asarray(final.predict(X), dtype=float).reshape(-1)
    scores = np.asarray(
        final.predict_proba(X) if probability else raw_scores(final, X), dtype=float
    )
    if scores.ndim == 1:  # two classes, the score of class 1
        return np.where(targets == 1, scores, -scores)
    return scores[np.arange(len(X)), targets]


def named_as_fitted(final: Any, X: np.ndarray) -> np.ndarray | pd.DataFrame:
    """``X`` under the column names ``final`` was fitted with, if any: given none,
    scikit-learn warns "X does not have valid feature names" at every call, a line in the
    server's log for each explanation."""
    names = getattr(final, "feature_names_in_", None)
    if names is None or len(names) != X.shape[1]:
        return X
    return pd.DataFrame(X, columns=names, copy=False)


def raw_scores(final: Any, X: np.ndarray | pd.DataFrame) -> Any:
    """A classifier's scores before its link (log-odds): scikit-learn's and LightGBM's
    ``decision_function``; XGBoost's scikit-learn classes have none and give them as
    ``predict(output_margin=True)``."""
    if hasattr(final, "decision_function"):
        return final.decision_function(X)
    if type(final).__module__.startswith("xgboost"):
        return final.predict(X, output_margin=True)
    raise NotExplainable(f"{type(final).__name__} does not give its raw scores")


class _MappedMethod:
    """A shap explainer on the final estimator's columns, summed back to the inputs."""

    name = ""
    explained_output = ""

    def __init__(self, parts: ModelParts, owners: list[int | None], inputs: int) -> None:
        self.parts, self.owners, self.inputs = parts, owners, inputs

    def _mapped(self, values: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        summed = summed_by_owner(values, self.owners, self.inputs)
        # columns no input owns are constants: whatever they hold goes to the base value
        return base + (values.sum(axis=1) - summed.sum(axis=1)), summed


class TreeMethod(_MappedMethod):
    """Exact TreeSHAP, path-dependent: the trees' own record of their training rows (how
    many reached each node) is the background. Interventional TreeSHAP against the
    reference does not add up on tied values in shap 0.51 (off by up to 0.1 % on iris)."""

    name = "tree"

    def __init__(self, parts: ModelParts, owners: list, inputs: int) -> None:
        import shap

        super().__init__(parts, owners, inputs)
        self.explainer = shap.TreeExplainer(parts.final, feature_perturbation="tree_path_dependent")
        # a forest's raw output is already the class probability; boosting's is log-odds
        self.in_probability = type(parts.final).__name__ in AVERAGED_PROBABILITY
        if parts.classes is None:
            self.explained_output = "predicted value"
        elif self.in_probability:
            self.explained_output = "probability of the predicted class"
        else:
            self.explained_output = (
                "log-odds (raw score) of the predicted class; its probability is given beside it"
            )

    def explain(self, frame: pd.DataFrame, targets: np.ndarray | None) -> Explained:
        X = as_float32(self.parts.transform(frame))
        values = self.explainer.shap_values(X, check_additivity=False)
        complement = 1.0 if self.in_probability else 0.0
        values, base = _pick(values, self.explainer.expected_value, targets, complement)
        base, summed = self._mapped(values, base)
        return Explained(
            base, summed, own_output(self.parts.final, X, targets, self.in_probability)
        )


class LinearMethod(_MappedMethod):
    name = "linear"

    def __init__(self, parts: ModelParts, owners: list, inputs: int, background: Any) -> None:
        import shap

        super().__init__(parts, owners, inputs)
        self.explainer = shap.LinearExplainer(parts.final, background)
        self.explained_output = (
            "log-odds (score before the logistic link) of the predicted class: exact for a "
            "linear model; its probability is given beside it"
            if parts.classes is not None
            else "predicted value"
        )

    def explain(self, frame: pd.DataFrame, targets: np.ndarray | None) -> Explained:
        X = self.parts.transform(frame)
        values, base = _pick(
            self.explainer.shap_values(X), self.explainer.expected_value, targets, 0.0
        )
        base, summed = self._mapped(values, base)
        return Explained(base, summed, own_output(self.parts.final, X, targets, False))


class _Coder:
    """Input rows as numbers for shap's maskers (which compare values numerically): text
    columns become category codes over the values seen, and back for the model."""

    def __init__(self, frames: list[pd.DataFrame]) -> None:
        joined = pd.concat(frames, ignore_index=True)
        self.columns, self.dtypes = list(joined.columns), frames[0].dtypes.to_dict()
        self.categories = {
            c: pd.unique(joined[c].astype(object))
            for c in self.columns
            if not pd.api.types.is_numeric_dtype(joined[c]) or joined[c].dtype == bool
        }

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        coded = frame.copy()
        for column, known in self.categories.items():
            lookup = {value: code for code, value in enumerate(known)}
            coded[column] = frame[column].astype(object).map(lookup)
        return coded.to_numpy(dtype=float)

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(codes, columns=self.columns)
        for column, known in self.categories.items():
            frame[column] = known[np.rint(codes[:, self.columns.index(column)]).astype(int)]
        return frame.astype(self.dtypes)


class PermutationMethod:
    name = "permutation"

    def __init__(self, model: LoadedModel, parts: ModelParts, background: pd.DataFrame) -> None:
        self.model, self.parts, self.background = model, parts, background
        self.explained_output = (
            "probability of the predicted class (model-agnostic estimate)"
            if parts.has_probabilities and parts.classes is not None
            else "the model's output (model-agnostic estimate)"
        )

    def _outputs(self, frame: pd.DataFrame) -> np.ndarray:
        if self.parts.has_probabilities and self.parts.classes is not None:
            return np.asarray(self.parts.raw.predict_proba(frame), dtype=float)
        output = self.model.pyfunc.predict(frame)
        values = np.asarray(
            output.iloc[:, 0] if hasattr(output, "iloc") and output.ndim == 2 else output
        ).reshape(len(frame), -1)[:, 0]
        try:
            return values.astype(float)
        except (TypeError, ValueError):
            raise NotExplainable("the model's output is not a number") from None

    def explain(self, frame: pd.DataFrame, targets: np.ndarray | None) -> Explained:
        import shap

        coder = _Coder([self.background, frame])
        masker = shap.maskers.Independent(
            coder.encode(self.background), max_samples=len(self.background)
        )
        explainer = shap.PermutationExplainer(lambda c: self._outputs(coder.decode(c)), masker)
        evaluations = (2 * frame.shape[1] + 1) * PERMUTATIONS
        result = explainer(
            coder.encode(frame), max_evals=evaluations, batch_size=evaluations, silent=True
        )  # one model call per permutation batch, not per 10
        values, base = _pick(result.values, np.asarray(result.base_values)[0], targets, 1.0)
        outputs = self._outputs(frame)
        if targets is not None:
            outputs = outputs[np.arange(len(frame)), targets]
        return Explained(base, values, outputs)


def build_method(
    model: LoadedModel, parts: ModelParts, reference: pd.DataFrame, owners: list | None
) -> Any:
    """The most exact explainer the model allows; the model-agnostic one otherwise."""
    sample = reference.sample(min(len(reference), AGNOSTIC_BACKGROUND_ROWS), random_state=0)
    if parts.raw is None or owners is None:
        return PermutationMethod(model, parts, sample)
    inputs, final = reference.shape[1], parts.final
    if any(family in type(final).__name__ for family in TREE_FAMILIES):
        try:
            return TreeMethod(parts, owners, inputs)
        except Exception:  # a tree model shap does not know: the agnostic one still works
            pass
    labelled_only = hasattr(final, "classes_") and parts.classes is None
    if hasattr(final, "coef_") and not labelled_only:
        rows = reference.head(LINEAR_BACKGROUND_ROWS)
        return LinearMethod(parts, owners, inputs, dense(parts.transform(rows)))
    return PermutationMethod(model, parts, sample)
