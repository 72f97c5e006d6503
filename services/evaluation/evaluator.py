"""An evaluation fed chunk by chunk: each chunk's labels and every version's answers in,
counts and sums kept, nothing of the rows themselves. Rows that cannot be evaluated (no
label, a label that is no class of the model, a row a version could not score) are counted
by reason and the first ones listed, like bad cells; every version is evaluated on exactly
the same rows, so their figures and the paired test compare like with like. When no row is
left, there is nothing to report: the evaluation is refused, saying why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from services.errors import InvalidInput, cut
from services.evaluation.classes import MISSING, UNKNOWN, Classes
from services.evaluation.classification import ClassTally
from services.evaluation.paired import PairedClasses, PairedErrors
from services.evaluation.regression import RegressionTally
from services.evaluation.slices import SliceKeys
from services.evaluation.verdict import comparison_of

CLASSIFICATION, REGRESSION = "classification", "regression"
MAX_LISTED = 100
CLASSES_NAMED = 8  # a refusal names at most this many of the model's classes
MISSING_LABEL, UNKNOWN_LABEL = "missing_label", "unknown_label"
NOT_A_NUMBER, NOT_SCORED = "not_a_number", "not_scored"
PROBLEMS = {
    MISSING_LABEL: "the label is missing",
    UNKNOWN_LABEL: "the label is not a class this model knows",
    NOT_A_NUMBER: "the label is not a number",
}


@dataclass(frozen=True)
class EvaluatedVersion:
    """A version being evaluated; ``probability_codes``: the class code of each of its
    probability columns (None: it gives no probabilities)."""

    ref: str
    version: str
    alias: str | None = None
    probability_codes: list[int] | None = None


@dataclass
class Answers:
    """One version's answers for one chunk, aligned with the chunk's rows: predictions
    (missing where it could not score), probabilities (rows × its classes, or None), and
    why a row was not scored ("" where it was)."""

    predictions: pd.Series
    probabilities: np.ndarray | None = None
    problems: pd.Series | None = None


@dataclass
class Skipped:
    counts: dict[str, int] = field(default_factory=dict)
    listed: list[dict[str, Any]] = field(default_factory=list)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # each reason's first row

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def add(self, reason: str, rows: np.ndarray, column: str, values: pd.Series, why: Any) -> None:
        """``rows``: 1-based row numbers; ``why``: one text for all, or one per row."""
        if not len(rows):
            return
        self.counts[reason] = self.counts.get(reason, 0) + len(rows)
        self.first.setdefault(reason, self._problem(0, rows, column, values, why))
        room = MAX_LISTED - len(self.listed)
        for i in range(min(room, len(rows))):
            self.listed.append(self._problem(i, rows, column, values, why))

    @staticmethod
    def _problem(
        i: int, rows: np.ndarray, column: str, values: pd.Series, why: Any
    ) -> dict[str, Any]:
        value = values.iloc[i]
        return {
            "row": int(rows[i]),
            "column": column,
            "value": None if pd.isna(value) else cut(str(value), 40),
            "problem": why if isinstance(why, str) else str(why[i]),
        }


class Evaluator:
    def __init__(
        self,
        kind: str,
        label: str,
        versions: list[EvaluatedVersion],
        classes: Classes | None = None,
        slice_column: str | None = None,
    ) -> None:
        self.kind, self.label, self.versions = kind, label, versions
        self.classes = classes
        self.tallies = [self._tally(v, charts=True) for v in versions]
        self.paired: PairedClasses | PairedErrors | None = None
        if len(versions) >= 2:
            self.paired = PairedClasses() if kind == CLASSIFICATION else PairedErrors()
        self.slicing = SliceKeys(slice_column) if slice_column else None
        self.slices: dict[str, list[Any]] = {}
        self.skipped = Skipped()
        self.seen = 0

    def _tally(self, version: EvaluatedVersion, charts: bool) -> ClassTally | RegressionTally:
        if self.kind == CLASSIFICATION:
            assert self.classes is not None
            codes = version.probability_codes if charts else None
            return ClassTally(self.classes, codes, curves=charts)
        return RegressionTally(charts=charts)

    @property
    def rows(self) -> int:
        return self.tallies[0].rows

    def none_evaluated(self) -> InvalidInput | None:
        """Every row left out (say, a column of ids chosen as the label): no figure would
        mean anything, so the evaluation is refused, saying why and what would do."""
        if self.rows or not self.skipped.rows:
            return None
        reason, count = max(self.skipped.counts.items(), key=lambda item: item[1])
        first, rows = self.skipped.first[reason], self.skipped.rows
        if reason == NOT_SCORED:
            said = f"{count:,} of {rows:,} rows could not be scored (row {first['row']}: "
            return InvalidInput(
                f"No row could be evaluated: {said}{first['problem']}).",
                hint="Check these rows against the model's inputs (its signature).",
            )
        value = "" if first["value"] is None else f": {first['value']!r}"
        return InvalidInput(
            f"No row could be evaluated: in {count:,} of {rows:,} rows of "
            f'"{cut(self.label, 60)}", {PROBLEMS[reason]} (row {first["row"]}{value}).',
            hint=self._what_would_do(),
        )

    def _what_would_do(self) -> str:
        wanted = "Choose the column that holds what the model should have answered"
        if self.kind == CLASSIFICATION and self.classes is not None and self.classes.keys:
            keys = self.classes.keys[:CLASSES_NAMED]
            named = ", ".join(self.classes.names.get(key, key) for key in keys)
            more = ", …" if len(self.classes.keys) > CLASSES_NAMED else ""
            return f"{wanted}: one of the model's classes ({named}{more})."
        return f"{wanted}: a number for each row."

    def add(self, chunk: pd.DataFrame, answers: list[Answers]) -> None:
        numbers = self.seen + 1 + np.arange(len(chunk))
        self.seen += len(chunk)
        truth, usable = self._truth(chunk[self.label], numbers)
        for version, answer in zip(self.versions, answers, strict=True):
            usable &= self._scored(version, answer, usable, numbers, chunk[self.label])
        if not usable.any():
            return
        truth = truth[usable]
        predicted = [self._predicted(a.predictions[usable]) for a in answers]
        probabilities = [
            None if a.probabilities is None else a.probabilities[usable] for a in answers
        ]
        for tally, guess, proba in zip(self.tallies, predicted, probabilities, strict=True):
            self._add(tally, truth, guess, proba)
        self._add_paired(truth, predicted)
        if self.slicing is not None:
            self._add_slices(chunk[self.slicing.column][usable], truth, predicted)

    def _truth(self, labels: pd.Series, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each label as a class code or a number, and which rows have a usable one."""
        if self.kind == CLASSIFICATION:
            assert self.classes is not None
            codes = self.classes.label_codes(labels)
            for reason, code in ((MISSING_LABEL, MISSING), (UNKNOWN_LABEL, UNKNOWN)):
                bad = codes == code
                self.skipped.add(reason, numbers[bad], self.label, labels[bad], PROBLEMS[reason])
            return codes, codes >= 0
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
        missing = labels.isna().to_numpy() | (labels.astype(str).str.strip() == "").to_numpy()
        wrong = np.isnan(values) & ~missing
        self.skipped.add(
            MISSING_LABEL, numbers[missing], self.label, labels[missing], PROBLEMS[MISSING_LABEL]
        )
        self.skipped.add(
            NOT_A_NUMBER, numbers[wrong], self.label, labels[wrong], PROBLEMS[NOT_A_NUMBER]
        )
        return values, ~np.isnan(values)

    def _scored(
        self,
        version: EvaluatedVersion,
        answer: Answers,
        usable: np.ndarray,
        numbers: np.ndarray,
        labels: pd.Series,
    ) -> np.ndarray:
        """The rows this version answered; those it did not (with a usable label) listed."""
        scored = answer.predictions.notna().to_numpy() & self._readable(answer.predictions)
        if answer.problems is not None:
            scored &= (answer.problems.fillna("") == "").to_numpy()
        failed = usable & ~scored
        if failed.any():
            why = answer.problems[failed] if answer.problems is not None else None
            reasons = (
                [f"{version.ref} could not score it: {p}" for p in why]
                if why is not None
                else f"{version.ref} gave no answer"
            )
            self.skipped.add(NOT_SCORED, numbers[failed], self.label, labels[failed], reasons)
        return scored

    def _readable(self, predictions: pd.Series) -> np.ndarray:
        """Answers that name a class (an empty text names none) or, from a regressor, are a
        number: any other is a row the version did not score."""
        predicted = self._predicted(predictions)
        if self.kind == CLASSIFICATION:
            return predicted >= 0
        return ~np.isnan(predicted)

    def _predicted(self, predictions: pd.Series) -> np.ndarray:
        if self.kind == CLASSIFICATION:
            assert self.classes is not None
            return self.classes.prediction_codes(predictions)
        return pd.to_numeric(predictions, errors="coerce").to_numpy(dtype=float)

    @staticmethod
    def _add(tally: Any, truth: np.ndarray, predicted: np.ndarray, proba: Any) -> None:
        if isinstance(tally, ClassTally):
            tally.add(truth, predicted, proba)
        else:
            tally.add(truth, predicted)

    def _add_paired(self, truth: np.ndarray, predicted: list[np.ndarray]) -> None:
        if isinstance(self.paired, PairedClasses):
            self.paired.add(predicted[0] == truth, predicted[1] == truth)
        elif isinstance(self.paired, PairedErrors):
            self.paired.add(truth, predicted[0], predicted[1])

    def _add_slices(self, cells: pd.Series, truth: np.ndarray, predicted: list[np.ndarray]) -> None:
        assert self.slicing is not None
        keys = self.slicing.keys(cells)
        for key in pd.unique(keys):
            rows = keys == key
            tallies = self.slices.setdefault(
                key, [self._tally(v, charts=False) for v in self.versions]
            )
            for tally, guess in zip(tallies, predicted, strict=True):
                self._add(tally, truth[rows], guess[rows], None)

    def result(self) -> dict[str, Any]:
        """The evaluation as the API answers it."""
        versions = [self._version(v, t) for v, t in zip(self.versions, self.tallies, strict=True)]
        answer: dict[str, Any] = {
            "label": self.label,
            "kind": self.kind,
            "rows": self.rows,
            "skipped_rows": self.skipped.rows,
            "skipped": dict(self.skipped.counts),
            "problems": sorted(self.skipped.listed, key=lambda problem: problem["row"]),
            "versions": versions,
            "comparison": comparison_of(self.kind, versions, self.paired),
            "slice_column": self.slicing.column if self.slicing else None,
            "slices": self._slice_rows(),
        }
        if self.kind == REGRESSION:
            answer["zero_truth_rows"] = self.tallies[0].zero_truth_rows
        return answer

    def _version(self, version: EvaluatedVersion, tally: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ref": version.ref,
            "version": version.version,
            "alias": version.alias,
            "metrics": tally.metrics(),
        }
        if isinstance(tally, ClassTally):
            entry["per_class"] = tally.per_class()
            entry["confusion_matrix"] = tally.confusion_matrix()
        entry["curves"] = tally.chart_curves()
        return entry

    def _slice_rows(self) -> list[dict[str, Any]]:
        """Each slice's figures, the slice where a version does worst first."""
        if self.slicing is None:
            return []
        rows = []
        for key in self.slicing.order():
            if key not in self.slices:
                continue
            tallies = self.slices[key]
            versions = [
                {"ref": v.ref, "version": v.version, "metrics": t.metrics()}
                for v, t in zip(self.versions, tallies, strict=True)
            ]
            rows.append({"value": key, "rows": tallies[0].rows, "versions": versions})
        return sorted(rows, key=self._worst)

    def _worst(self, row: dict[str, Any]) -> float:
        """Lowest accuracy first (classifiers), highest MAE first (regressors)."""
        if self.kind == CLASSIFICATION:
            return min(v["metrics"].get("accuracy", 1.0) for v in row["versions"])
        return -max(v["metrics"].get("mae", 0.0) for v in row["versions"])
