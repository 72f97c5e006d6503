"""The one entry point both faces (Dash UI and JSON API) call: resolve, authorise, load,
validate, predict, audit."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from services.audit import DENIED, ERROR, OK, AuditLog, AuditRecord
from services.config import Settings
from services.csv_io import read_csv
from services.errors import ConsoleError, PermissionDenied, Unauthenticated
from services.identity import Caller
from services.model_cache import CacheKey, ModelCache
from services.payload import ModelInput, parse_payload
from services.prediction import (
    PREDICTION_COLUMN,
    LoadedModel,
    PredictionResult,
    class_probabilities,
    jsonable,
    output_columns,
    predicted_frame,
    raw_outputs,
    with_gaps,
)
from services.registry import Registry, display_uri
from services.registry_types import ModelDetail, ModelSummary, ResolvedVersion, VersionDetail
from services.signature import describe_signature, placeholder_payload
from services.validation import conform, conform_frame, row_problems

ALLOWED = "allowed"


class KeyValueCache(Protocol):
    """What Flask-Caching's ``Cache`` and cachelib's caches both offer."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


@dataclass(frozen=True)
class InputCheck:
    rows: int
    features: int
    ignored_columns: list[str]


@dataclass
class FramePrediction:
    """A CSV's rows with prediction columns appended, and the summary of the run."""

    frame: pd.DataFrame
    result: PredictionResult


@dataclass
class BatchSummary:
    """A scored file: the run's result (a preview of predictions) and rows that failed."""

    result: PredictionResult
    failed_rows: int


ERROR_COLUMN = "error"


@dataclass
class _Outcome:
    """Filled in while an audited action runs."""

    resolved: ResolvedVersion | None = None
    rows: int | None = None


class ModelConsole:
    def __init__(
        self,
        settings: Settings,
        registry_for: Callable[[Caller], Registry],
        cache: KeyValueCache,
        models: ModelCache[LoadedModel] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.settings = settings
        self.registry_for = registry_for
        self.cache = cache
        self.models = models or ModelCache(settings.model_cache_size)
        self.audit = audit

    def health(self) -> dict[str, Any]:
        stats = self.models.stats
        return {
            "status": "ok",
            "registry": display_uri(self.settings.registry_uri),
            "embedded_registry": self.settings.embedded_registry,
            "auth_mode": self.settings.auth_mode,
            "models_cached": len(self.models),
            "model_cache": {"hits": stats.hits, "misses": stats.misses, "loads": stats.loads},
        }

    # -- auditing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _audited(
        self,
        caller: Caller,
        source: str,
        action: str,
        name: str,
        ref: str,
        *,
        always: bool,
        success: bool = True,
    ) -> Iterator[_Outcome]:
        """Record the action's outcome: always for predictions, only denials for views;
        ``success=False`` leaves a success to be recorded by the step that follows."""
        outcome = _Outcome()
        started = time.perf_counter()
        try:
            yield outcome
        except ConsoleError as error:
            denied = isinstance(error, (PermissionDenied, Unauthenticated))
            if always or denied:
                self._record(caller, source, action, name, ref, outcome, started, error)
            raise
        if always and success:
            self._record(caller, source, action, name, ref, outcome, started, None)

    def _record(
        self,
        caller: Caller,
        source: str,
        action: str,
        name: str,
        ref: str,
        outcome: _Outcome,
        started: float,
        error: ConsoleError | None,
    ) -> None:
        if self.audit is None:
            return
        resolved = outcome.resolved
        verdict = OK if error is None else DENIED
        if error is not None and not isinstance(error, (PermissionDenied, Unauthenticated)):
            verdict = ERROR
        self.audit.record(
            AuditRecord(
                user=caller.user,
                source=source,
                action=action,
                model=resolved.name if resolved else name,
                version=resolved.version if resolved else (ref if ref.isdigit() else None),
                alias=resolved.alias if resolved else (None if ref.isdigit() else ref),
                input_rows=outcome.rows,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                outcome=verdict,
                error_code=error.error_code if error else None,
            )
        )

    # -- metadata -------------------------------------------------------------------------

    def list_models(self, caller: Caller) -> list[ModelSummary]:
        """The models the caller may see (the registry filters by the caller's rights)."""
        return self.registry_for(caller).list_models()

    def model_detail(self, caller: Caller, name: str, source: str = "api") -> ModelDetail:
        with self._audited(caller, source, "view", name, "", always=False):
            return self.registry_for(caller).get_model(name)

    def resolve(self, caller: Caller, name: str, ref: str) -> ResolvedVersion:
        """Pin a reference to a version with the caller's credentials; an alias is re-read
        after ``alias_cache_seconds`` at most."""
        registry = self.registry_for(caller)
        seconds = self.settings.alias_cache_seconds
        if seconds <= 0:  # a cache timeout of 0 would mean "forever"
            return registry.resolve(name, ref)
        key = f"resolve|{caller.key}|{registry.uri}|{name}|{ref}"
        resolved = self.cache.get(key)
        if resolved is None:
            resolved = registry.resolve(name, ref)
            self.cache.set(key, resolved, timeout=seconds)
        return resolved

    def authorize(self, caller: Caller, registry: Registry, resolved: ResolvedVersion) -> None:
        """May this caller use this version? Asked of the registry with the caller's own
        credentials, the same check loading the files would pass; the verdict is reused for
        ``permission_cache_seconds`` so a cached model costs no registry call."""
        if not registry.enforces_permissions:
            return
        key = f"verdict|{caller.key}|{registry.uri}|{resolved.name}|{resolved.version}"
        verdict = self.cache.get(key)
        if verdict is None:
            try:
                registry.check_access(resolved)
                verdict = ALLOWED
            except (PermissionDenied, Unauthenticated) as error:
                verdict = error
            self.cache.set(key, verdict, timeout=self.settings.permission_cache_seconds)
        if verdict != ALLOWED:
            raise verdict

    def version_detail(
        self, caller: Caller, name: str, ref: str, source: str = "api"
    ) -> VersionDetail:
        with self._audited(caller, source, "view", name, ref, always=False) as outcome:
            registry = self.registry_for(caller)
            outcome.resolved = resolved = self.resolve(caller, name, ref)
            self.authorize(caller, registry, resolved)
            info = registry.describe_version(resolved)  # fresh: aliases and tags move
            key = f"files|{registry.uri}|{resolved.name}|{resolved.version}"
            files = self.cache.get(key)
            if files is None:
                files = registry.version_files(resolved)
                self.cache.set(key, files, timeout=self.settings.metadata_cache_seconds)
            return VersionDetail(resolved, info, files)

    def demo_payload(self, caller: Caller, name: str, ref: str) -> Any:
        """A valid input for this version: its saved example, else one built from the signature."""
        detail = self.version_detail(caller, name, ref, source="ui")
        if detail.input_example:
            example = detail.input_example[:3]
            return example[0] if len(example) == 1 else example
        return placeholder_payload(detail.signature)

    def check_input(self, caller: Caller, name: str, ref: str, payload: Any) -> InputCheck:
        """Everything ``predict`` checks, without predicting."""
        _, model = self.load(caller, name, ref)
        conformed = conform(parse_payload(payload), model.signature)
        data = conformed.data
        features = data.shape[1] if getattr(data, "ndim", 1) == 2 else 1
        return InputCheck(conformed.rows, features, conformed.ignored_columns)

    # -- models ---------------------------------------------------------------------------

    def load(self, caller: Caller, name: str, ref: str) -> tuple[ResolvedVersion, LoadedModel]:
        """The model for this caller: resolved and authorised with the caller's credentials
        first, so a model cached for someone else is never handed to a caller who may not."""
        registry = self.registry_for(caller)
        resolved = self.resolve(caller, name, ref)
        self.authorize(caller, registry, resolved)
        key = CacheKey(registry.uri, resolved.name, resolved.version)
        return resolved, self.models.get_or_load(key, lambda: _load_model(registry, resolved))

    def load_audited(
        self, caller: Caller, name: str, ref: str, source: str, action: str, *, always: bool
    ) -> LoadedModel:
        """``load`` for a step that reads a file before predicting on it (a CSV check, a CSV
        job): its failure is audited as that action's outcome (a refusal always, any error
        with ``always``); a success is recorded by the step that follows, if at all."""
        with self._audited(caller, source, action, name, ref, always=always, success=False):
            return self.load(caller, name, ref)[1]

    # -- predictions ----------------------------------------------------------------------

    def predict(
        self,
        caller: Caller,
        name: str,
        ref: str,
        payload: Any,
        *,
        probabilities: bool = False,
        source: str = "api",
    ) -> PredictionResult:
        """Predict from a parsed JSON value in any accepted form."""
        with self._audited(caller, source, "predict", name, ref, always=True) as outcome:
            model_input = payload if isinstance(payload, ModelInput) else parse_payload(payload)
            outcome.rows = model_input.rows
            started = time.perf_counter()
            outcome.resolved, model = self.load(caller, name, ref)
            conformed = conform(model_input, model.signature)
            predictions: list[Any] = []
            for _, output in raw_outputs(model, conformed, self.settings.predict_chunk_rows):
                predictions.extend(jsonable(output))
            extra = {"ignored_columns": conformed.ignored_columns}
            if probabilities:
                extra["probabilities"] = class_probabilities(model, conformed)
            latency = (time.perf_counter() - started) * 1000
            return PredictionResult.of(
                outcome.resolved, predictions, conformed.rows, latency, **extra
            )

    def predict_csv(
        self, caller: Caller, name: str, ref: str, raw: bytes, source: str = "api"
    ) -> FramePrediction:
        """Read a CSV with the model's signature in mind (text stays text), then predict."""
        with self._audited(caller, source, "predict", name, ref, always=True) as outcome:
            outcome.resolved, model = self.load(caller, name, ref)
            frame = read_csv(raw, model.signature)
            outcome.rows = len(frame)
            return self._predict_frame(outcome.resolved, model, frame)

    def predict_frame(
        self, caller: Caller, name: str, ref: str, frame: pd.DataFrame, source: str = "api"
    ) -> FramePrediction:
        """Predict every row of a table; columns the model does not use pass through."""
        with self._audited(caller, source, "predict", name, ref, always=True) as outcome:
            outcome.rows = len(frame)
            outcome.resolved, model = self.load(caller, name, ref)
            return self._predict_frame(outcome.resolved, model, frame)

    def score_frames(
        self,
        caller: Caller,
        name: str,
        ref: str,
        frames: Iterable[pd.DataFrame],
        write: Callable[[pd.DataFrame], None],
        progress: Callable[[int], None] | None = None,
        source: str = "csv",
    ) -> BatchSummary:
        """Score a table chunk by chunk. A row that fails validation gets no prediction and
        an ``error`` saying why; the rest of the file is still scored."""
        with self._audited(caller, source, "predict", name, ref, always=True) as outcome:
            outcome.resolved, model = self.load(caller, name, ref)
            started = time.perf_counter()
            rows = failed = 0
            preview: list[Any] = []
            # until a chunk shows the model's own output columns
            outputs = output_columns(model.signature) or [PREDICTION_COLUMN]
            for frame in frames:
                scored, bad, outputs = self._score_chunk(model, frame, outputs)
                write(scored)
                rows, failed = rows + len(frame), failed + bad
                outcome.rows = rows
                if len(preview) < 5:
                    preview += jsonable(scored[PREDICTION_COLUMN].head(5 - len(preview)))
                if progress is not None:
                    progress(rows)
            latency = (time.perf_counter() - started) * 1000
            result = PredictionResult.of(outcome.resolved, preview, rows, latency)
            return BatchSummary(result, failed)

    def _score_chunk(
        self, model: LoadedModel, frame: pd.DataFrame, outputs: list[str]
    ) -> tuple[pd.DataFrame, int, list[str]]:
        """One chunk scored: its rows, the output columns, and ``error``. A chunk where every
        row fails gets the ``outputs`` columns of the chunks before, empty, so every chunk
        of a file has the same columns."""
        columns = model.signature.columns
        if columns:
            conform_frame(frame.head(0), columns)  # a missing column fails the whole file
        problems = row_problems(frame, columns)
        good = frame[problems == ""]
        if len(good):
            conformed = conform(ModelInput(good, "csv"), model.signature)
            chunk_rows = self.settings.predict_chunk_rows
            predicted = predicted_frame(model, conformed, good.index, chunk_rows)
            if len(good) < len(frame):
                predicted = with_gaps(predicted, frame.index)
        else:
            predicted = pd.DataFrame({c: [None] * len(frame) for c in outputs}, index=frame.index)
        kept = frame.drop(columns=[c for c in predicted.columns if c in frame.columns])
        scored = pd.concat([kept, predicted], axis=1)
        scored[ERROR_COLUMN] = problems
        return scored, int((problems != "").sum()), [str(c) for c in predicted.columns]

    def _predict_frame(
        self, resolved: ResolvedVersion, model: LoadedModel, frame: pd.DataFrame
    ) -> FramePrediction:
        started = time.perf_counter()
        conformed = conform(ModelInput(frame, "csv"), model.signature)
        chunk_rows = self.settings.predict_chunk_rows
        predicted = predicted_frame(model, conformed, frame.index, chunk_rows)
        kept = frame.drop(columns=[c for c in predicted.columns if c in frame.columns])
        result_frame = pd.concat([kept, predicted], axis=1)
        latency = (time.perf_counter() - started) * 1000
        preview = jsonable(predicted.iloc[:, 0].head(5)) if len(predicted.columns) else []
        summary = PredictionResult.of(
            resolved, preview, conformed.rows, latency, ignored_columns=conformed.ignored_columns
        )
        return FramePrediction(result_frame, summary)


def _load_model(registry: Registry, resolved: ResolvedVersion) -> LoadedModel:
    import mlflow.pyfunc

    started = time.perf_counter()
    local_dir = registry.download(resolved)
    pyfunc = mlflow.pyfunc.load_model(str(local_dir))
    gc.freeze()  # a model lives long: keep full collections from walking its objects
    return LoadedModel(
        name=resolved.name,
        version=resolved.version,
        pyfunc=pyfunc,
        signature=describe_signature(pyfunc.metadata.signature),
        load_seconds=time.perf_counter() - started,
    )
