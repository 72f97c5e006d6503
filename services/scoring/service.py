"""Predictions for a caller: a model loaded once per request or job (one resolution, one
authorisation, one audit record), and the answer for the JSON forms users send."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from services.access.audit import AuditedAction, AuditLog, Source
from services.access.caller import Caller
from services.registry.types import ResolvedVersion
from services.scoring.distribution import output_summary
from services.scoring.models import LoadedModel, ModelLoader
from services.scoring.prediction import class_probabilities, has_probabilities
from services.scoring.prepared import prepare
from services.scoring.tables import BadRows, TableRun
from services.settings import Settings


@dataclass
class Predictions:
    """The answer to a JSON prediction request, as the API sends it."""

    predictions: list[Any]
    input_rows: int
    model: str
    version: str
    alias: str | None
    latency_ms: float
    ignored_columns: list[str] = field(default_factory=list)
    probabilities: list[dict[str, float]] | None = None
    labels: list[str | None] | None = None  # the declared class name of each prediction

    def to_dict(self) -> dict[str, Any]:
        """Shallow on purpose: ``asdict`` would deep-copy every prediction."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        for optional in ("alias", "probabilities", "ignored_columns", "labels"):
            if not body[optional]:
                del body[optional]
        return body


@dataclass(frozen=True)
class InputCheck:
    rows: int
    features: int
    ignored_columns: list[str]


@dataclass
class ModelUse:
    """A model resolved, authorised and loaded for one caller, inside one audited action."""

    caller: Caller
    source: Source
    resolved: ResolvedVersion
    model: LoadedModel
    audited: AuditedAction


class ScoringService:
    def __init__(self, settings: Settings, loader: ModelLoader, audit: AuditLog) -> None:
        self.settings = settings
        self.loader = loader
        self.audit = audit

    @contextlib.contextmanager
    def use(
        self, caller: Caller, name: str, ref: str, source: Source, action: str = "predict"
    ) -> Iterator[ModelUse]:
        """The model for one request or job; the action's outcome is audited, whatever it
        is."""
        with self.audit.recording(caller, source, action, name, ref) as audited:
            yield self._load(caller, source, name, ref, audited)

    @contextlib.contextmanager
    def look(
        self, caller: Caller, name: str, ref: str, source: Source, action: str = "view"
    ) -> Iterator[ModelUse]:
        """The model for a check before predicting (its signature); audited if refused."""
        with self.audit.recording_refusals(caller, source, action, name, ref) as audited:
            yield self._load(caller, source, name, ref, audited)

    def _load(
        self, caller: Caller, source: Source, name: str, ref: str, audited: AuditedAction
    ) -> ModelUse:
        resolved, model = self.loader.load(caller, name, ref)
        audited.reached(resolved.name, resolved.version, resolved.alias)
        return ModelUse(caller, source, resolved, model, audited)

    def table(self, use: ModelUse, bad_rows: BadRows, probabilities: bool = False) -> TableRun:
        return TableRun(
            use.model, bad_rows, self.settings.predict_chunk_rows, probabilities=probabilities
        )

    def predict(
        self,
        caller: Caller,
        name: str,
        ref: str,
        payload: Any,
        *,
        source: Source,
        probabilities: bool | None = False,
        action: str = "predict",
        arm: str | None = None,
    ) -> Predictions:
        """Predict from a parsed JSON value in any accepted form (or a ``ModelInput``, or
        input ``prepare``d already);
        ``probabilities=None``: with class probabilities when the model has them. ``arm``:
        the traffic split's arm this request went to, audited with a summary of the answers."""
        with self.audit.recording(caller, source, action, name, ref) as audited:
            audited.arm = arm
            prepared = prepare(payload)
            audited.rows = prepared.rows
            started = time.perf_counter()
            use = self._load(caller, source, name, ref, audited)
            run = self.table(use, BadRows.REFUSE)
            conformed = prepared.for_model(use.model.signature)
            scored = run.score_conformed(conformed)
            predictions = scored.predictions()
            if arm is not None:
                audited.outputs = output_summary(predictions)
            extra: dict[str, Any] = {
                "ignored_columns": run.ignored_columns,
                "labels": scored.class_names(predictions),
            }
            if probabilities is None:
                probabilities = has_probabilities(use.model)
            if probabilities:
                extra["probabilities"] = class_probabilities(use.model, conformed)
            return Predictions(
                predictions=predictions,
                input_rows=run.rows,
                model=use.resolved.name,
                version=use.resolved.version,
                alias=use.resolved.alias,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                **extra,
            )

    def check_input(self, caller: Caller, name: str, ref: str, payload: Any) -> InputCheck:
        """Everything ``predict`` checks, without predicting."""
        _, model = self.loader.load(caller, name, ref)
        conformed = prepare(payload).for_model(model.signature)
        data = conformed.data
        features = data.shape[1] if getattr(data, "ndim", 1) == 2 else 1
        return InputCheck(conformed.rows, features, conformed.ignored_columns)
