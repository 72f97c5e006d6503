"""The one entry point both faces (Dash UI and JSON API) call: resolve, load, validate, predict."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from services.config import Settings
from services.csv_io import read_csv
from services.identity import Caller
from services.model_cache import CacheKey, ModelCache
from services.payload import ModelInput, parse_payload
from services.prediction import (
    LoadedModel,
    PredictionResult,
    class_probabilities,
    jsonable,
    output_frame,
    raw_outputs,
)
from services.registry import (
    ModelDetail,
    ModelSummary,
    Registry,
    ResolvedVersion,
    VersionDetail,
    display_uri,
)
from services.signature import describe_signature, placeholder_payload
from services.validation import conform


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


class ModelConsole:
    def __init__(
        self,
        settings: Settings,
        registry_for: Callable[[Caller], Registry],
        cache: KeyValueCache,
        models: ModelCache[LoadedModel] | None = None,
    ) -> None:
        self.settings = settings
        self.registry_for = registry_for
        self.cache = cache
        self.models = models or ModelCache(settings.model_cache_size)

    def health(self) -> dict[str, Any]:
        stats = self.models.stats
        return {
            "status": "ok",
            "registry": display_uri(self.settings.registry_uri),
            "embedded_registry": self.settings.embedded_registry,
            "models_cached": len(self.models),
            "model_cache": {"hits": stats.hits, "misses": stats.misses, "loads": stats.loads},
        }

    # -- metadata -------------------------------------------------------------------------

    def list_models(self, caller: Caller) -> list[ModelSummary]:
        return self.registry_for(caller).list_models()

    def model_detail(self, caller: Caller, name: str) -> ModelDetail:
        return self.registry_for(caller).get_model(name)

    def resolve(self, caller: Caller, name: str, ref: str) -> ResolvedVersion:
        """Pin a reference to a version; aliases are re-read after a few seconds at most."""
        registry = self.registry_for(caller)
        seconds = self.settings.alias_cache_seconds
        if seconds <= 0:  # a cache timeout of 0 would mean "forever"
            return registry.resolve(name, ref)
        key = f"resolve|{registry.uri}|{name}|{ref}"
        resolved = self.cache.get(key)
        if resolved is None:
            resolved = registry.resolve(name, ref)
            self.cache.set(key, resolved, timeout=seconds)
        return resolved

    def version_detail(self, caller: Caller, name: str, ref: str) -> VersionDetail:
        registry = self.registry_for(caller)
        resolved = self.resolve(caller, name, ref)
        info = registry.describe_version(resolved)  # fresh: aliases and tags move
        key = f"files|{registry.uri}|{resolved.name}|{resolved.version}"
        files = self.cache.get(key)
        if files is None:
            files = registry.version_files(resolved)
            self.cache.set(key, files, timeout=self.settings.metadata_cache_seconds)
        return VersionDetail(resolved, info, files)

    def demo_payload(self, caller: Caller, name: str, ref: str) -> Any:
        """A valid input for this version: its saved example, else one built from the signature."""
        detail = self.version_detail(caller, name, ref)
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
        registry = self.registry_for(caller)
        resolved = self.resolve(caller, name, ref)
        key = CacheKey(registry.uri, resolved.name, resolved.version)
        return resolved, self.models.get_or_load(key, lambda: _load_model(registry, resolved))

    # -- predictions ----------------------------------------------------------------------

    def predict(
        self,
        caller: Caller,
        name: str,
        ref: str,
        payload: Any,
        *,
        probabilities: bool = False,
    ) -> PredictionResult:
        """Predict from a parsed JSON value in any accepted form."""
        model_input = payload if isinstance(payload, ModelInput) else parse_payload(payload)
        started = time.perf_counter()
        resolved, model = self.load(caller, name, ref)
        conformed = conform(model_input, model.signature)
        predictions: list[Any] = []
        for _, output in raw_outputs(model, conformed, self.settings.predict_chunk_rows):
            predictions.extend(jsonable(output))
        extra = {"ignored_columns": conformed.ignored_columns}
        if probabilities:
            extra["probabilities"] = class_probabilities(model, conformed)
        latency = (time.perf_counter() - started) * 1000
        return PredictionResult.of(resolved, predictions, conformed.rows, latency, **extra)

    def predict_csv(self, caller: Caller, name: str, ref: str, raw: bytes) -> FramePrediction:
        """Read a CSV with the model's signature in mind (text stays text), then predict."""
        _, model = self.load(caller, name, ref)
        return self.predict_frame(caller, name, ref, read_csv(raw, model.signature))

    def predict_frame(
        self, caller: Caller, name: str, ref: str, frame: pd.DataFrame
    ) -> FramePrediction:
        """Predict every row of a table; columns the model does not use pass through."""
        started = time.perf_counter()
        resolved, model = self.load(caller, name, ref)
        conformed = conform(ModelInput(frame, "csv"), model.signature)
        outputs = [
            output_frame(output, chunk.index)
            for chunk, output in raw_outputs(model, conformed, self.settings.predict_chunk_rows)
        ]
        predicted = pd.concat(outputs) if len(outputs) > 1 else outputs[0]
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
