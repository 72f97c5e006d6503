"""Explanations for a caller: the same resolution, permission check and audit record as a
prediction, then the version's explainer (built once per version and cached)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from services.access.audit import Source
from services.access.caller import Caller
from services.errors import ConsoleError, InvalidInput
from services.explain.explainer import RowExplanation, VersionExplainer
from services.explain.importance import Importance, importance
from services.explain.reference import read_reference
from services.explain.whatif import FeatureRange, IceCurve, feature_ranges, ice_curve
from services.registry.access import ModelAccess
from services.scoring.models import CacheKey, ModelCache
from services.scoring.payload import ModelInput, as_model_input, parse_payload
from services.scoring.prediction import class_probabilities, has_probabilities
from services.scoring.service import ModelUse, Predictions, ScoringService
from services.scoring.validation import conform

MAX_EXPLAIN_ROWS = 100
EXPLAIN_SECONDS = 20.0


@dataclass
class Explanation:
    """The answer to an explain request, as the API sends it."""

    method: str
    explained_output: str
    reference: dict[str, Any]
    model: str
    version: str
    alias: str | None
    rows: list[RowExplanation]
    latency_ms: float
    reference_note: str = ""
    labels: dict[str, str] | None = None  # the model's class names (not part of the answer)
    text_features: list[str] = field(default_factory=list)  # free text: one feature each

    def to_dict(self) -> dict[str, Any]:
        body = {
            "method": self.method,
            "explained_output": self.explained_output,
            "reference": self.reference,
            "model": self.model,
            "version": self.version,
            "rows": [row.to_dict() for row in self.rows],
            "latency_ms": self.latency_ms,
        }
        if self.alias:
            body["alias"] = self.alias
        if self.text_features:
            body["text_features"] = self.text_features
        return body


@dataclass
class WhatIfSpace:
    """What the what-if form may offer: each feature's training range or categories."""

    ranges: list[FeatureRange]
    reference: dict[str, Any]
    note: str
    explained: dict[str, str] = field(default_factory=dict)


@dataclass
class RowInsight:
    """How sure the model is of one row and why: what the console shows once the row's
    answer is on screen. ``explanation``: ``Explanation.to_dict`` with the reference
    ``note``, or why there is none."""

    probabilities: dict[str, float] | None
    explanation: dict[str, Any] | str
    labels: dict[str, str] | None


@dataclass
class WhatIfAnswer:
    """One form row as the what-if panel shows it. ``explanation``: ``Explanation.to_dict``
    with the reference ``note``, or why there is none; ``curve`` likewise."""

    predictions: Predictions
    explanation: dict[str, Any] | str
    curve: IceCurve | str | None
    labels: dict[str, str] | None


class ExplainService:
    def __init__(
        self,
        scoring: ScoringService,
        access: ModelAccess,
        cache_size: int = 8,
        seconds: float = EXPLAIN_SECONDS,
    ) -> None:
        self.scoring, self.access, self.seconds = scoring, access, seconds
        self.explainers: ModelCache[VersionExplainer] = ModelCache(cache_size)

    def after_fork(self) -> None:
        self.explainers.after_fork()

    def _explainer(self, caller: Caller, use: ModelUse) -> VersionExplainer:
        """The version's explainer; its reference read with the caller's own registry, which
        has just said this caller may use the version."""
        registry = self.access.authorize(caller, use.resolved)
        key = CacheKey(registry.uri, use.resolved.name, use.resolved.version)
        return self.explainers.get_or_load(
            key,
            lambda: VersionExplainer(
                use.model, read_reference(registry, use.resolved, use.model.signature)
            ),
        )

    def explain(
        self, caller: Caller, name: str, ref: str, payload: Any, *, source: Source
    ) -> Explanation:
        """Explain each row of a parsed JSON value in any accepted form (at most
        ``MAX_EXPLAIN_ROWS``)."""
        started = time.perf_counter()
        with self.scoring.use(caller, name, ref, source, action="explain") as use:
            model_input = as_model_input(payload)
            use.audited.rows = model_input.rows
            if model_input.rows > MAX_EXPLAIN_ROWS:
                raise InvalidInput(
                    f"At most {MAX_EXPLAIN_ROWS} rows can be explained at once; this input "
                    f"has {model_input.rows:,}.",
                    hint="Explain the rows you are curious about, or a sample.",
                )
            data = conform(model_input, use.model.signature).data
            explainer = self._explainer(caller, use)
            rows = explainer.explain(_framed(data, explainer), time.monotonic() + self.seconds)
            return Explanation(
                method=explainer.method.name,
                explained_output=explainer.method.explained_output,
                reference=explainer.reference.describe(),
                model=use.resolved.name,
                version=use.resolved.version,
                alias=use.resolved.alias,
                rows=rows,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                reference_note=explainer.reference.note(),
                labels=use.model.labels,
                text_features=[c for c in explainer.columns if c in explainer.text],
            )

    def importance(self, caller: Caller, name: str, ref: str, source: Source) -> Importance:
        with self.scoring.use(caller, name, ref, source, action="importance") as use:
            explainer = self._explainer(caller, use)
            return importance(explainer, time.monotonic() + self.seconds)

    def what_if_space(self, caller: Caller, name: str, ref: str) -> WhatIfSpace:
        with self.scoring.look(caller, name, ref, Source.UI) as use:
            explainer = self._explainer(caller, use)
        reference = explainer.reference
        ranges = feature_ranges(reference.frame, explainer.text)
        return WhatIfSpace(ranges, reference.describe(), reference.note())

    def text_columns(self, caller: Caller, name: str, ref: str) -> frozenset[str]:
        """The version's free-text columns (a box of several lines in the form): long in its
        reference, or declared; only declared when it has no reference."""
        with self.scoring.look(caller, name, ref, Source.UI) as use:
            try:
                return self._explainer(caller, use).text
            except ConsoleError:
                return use.model.text_columns

    def ice(
        self,
        caller: Caller,
        name: str,
        ref: str,
        record: dict[str, Any],
        feature: str,
        *,
        source: Source,
    ) -> IceCurve:
        """How one row's output moves as ``feature`` sweeps its training range."""
        with self.scoring.use(caller, name, ref, source, action="what-if") as use:
            use.audited.rows = 1
            data = conform(parse_payload(record), use.model.signature).data
            explainer = self._explainer(caller, use)
            if feature not in explainer.columns:
                raise InvalidInput(f"The model has no input named {feature[:80]}.")
            return ice_curve(explainer, _framed(data, explainer).head(1), feature)

    def what_if(
        self, caller: Caller, name: str, ref: str, record: dict[str, Any], feature: str | None
    ) -> WhatIfAnswer:
        """Predict one form row with its probabilities, explain it and sweep ``feature``;
        each is audited as its own action (predict, explain, what-if), as when asked apart.
        A prediction that fails raises; an explanation or sweep that fails says why."""
        answer = self.scoring.predict(
            caller, name, ref, record, source=Source.FORM, probabilities=None
        )
        explanation, labels = self.explained_row(caller, name, ref, record, Source.FORM)
        return WhatIfAnswer(
            answer, explanation, self.sweep(caller, name, ref, record, feature), labels
        )

    def explained_row(
        self, caller: Caller, name: str, ref: str, record: Any, source: Source
    ) -> tuple[dict[str, Any] | str, dict[str, str] | None]:
        """One row's explanation (a record, or one row in any JSON form) as the UI shows it
        (``to_dict`` with the reference note), or why there is none, and the class names."""
        try:
            explained = self.explain(caller, name, ref, record, source=source)
        except ConsoleError as error:
            return error.message, None
        return {**explained.to_dict(), "note": explained.reference_note}, explained.labels

    def row_insight(
        self, caller: Caller, name: str, ref: str, payload: Any, source: Source
    ) -> RowInsight:
        """One row's class probabilities and explanation, from one ``predict_proba`` call
        when the row can be explained (the explanation computes them anyway)."""
        row = as_model_input(payload)
        if row.rows != 1:
            raise InvalidInput("Confidence and explanation are worked out for one row at a time.")
        explanation, labels = self.explained_row(caller, name, ref, row, source)
        if isinstance(explanation, dict):
            return RowInsight(explanation["rows"][0].get("probabilities"), explanation, labels)
        probabilities, labels = self._probabilities_alone(caller, name, ref, row, source)
        return RowInsight(probabilities, explanation, labels)

    def _probabilities_alone(
        self, caller: Caller, name: str, ref: str, row: ModelInput, source: Source
    ) -> tuple[dict[str, float] | None, dict[str, str] | None]:
        """A row that cannot be explained still has its class probabilities, if the model
        gives any: audited as their own action."""
        try:
            with self.scoring.look(caller, name, ref, source) as seen:  # a refusal is audited
                if not has_probabilities(seen.model):
                    return None, seen.model.labels
            with self.scoring.use(caller, name, ref, source, action="probabilities") as use:
                conformed = conform(row, use.model.signature)
                use.audited.rows = conformed.rows
                return class_probabilities(use.model, conformed)[0], use.model.labels
        except ConsoleError:
            return None, None  # the explanation's reason is already on screen

    def sweep(
        self, caller: Caller, name: str, ref: str, record: dict[str, Any], feature: str | None
    ) -> IceCurve | str | None:
        """The ICE curve of ``feature`` for this row, or why there is none."""
        if not feature:
            return None
        try:
            return self.ice(caller, name, ref, record, feature, source=Source.FORM)
        except ConsoleError as error:
            return error.message


def _framed(data: Any, explainer: VersionExplainer) -> pd.DataFrame:
    """Named columns are what explanations speak of; plain rows get the reference's names."""
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame(data, columns=explainer.columns)
