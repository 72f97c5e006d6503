"""Loaded models, held as live objects in this process, and loading them for a caller.

Flask-Caching would pickle a model on every ``get`` (see FACTS.md), so models live here
instead: a bounded LRU keyed by registry + name + *resolved* version, safe under threads, and
loading each key once however many requests ask for it at the same moment.

The cache does not decide who may use a model: ``ModelLoader`` resolves and authorises the
caller with the caller's own credentials before it asks for an entry, so a hit never skips
that check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from services import metrics
from services.access.caller import Caller
from services.compat import lighter_sklearn_tasks, prepare_requirement_checks, sklearn_predict
from services.errors import ConsoleError, ModelCannotLoad, PermissionDenied, Unauthenticated
from services.registry.access import ModelAccess
from services.registry.client import Registry
from services.registry.labels import class_labels
from services.registry.signature import SignatureInfo, describe_signature
from services.registry.text_columns import declared_text_columns
from services.registry.types import ResolvedVersion
from services.scoring.batching import Batcher, BatchSettings
from services.scoring.load_errors import folder_environment, load_failure

V = TypeVar("V")
log = logging.getLogger(__name__)
LOAD_FAILURE_SECONDS = 30.0


@dataclass(frozen=True)
class CacheKey:
    registry: str
    name: str
    version: str


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0
    evictions: int = 0


class _Slot(Generic[V]):
    """One key's load: the first caller loads, the others wait for its result."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class ModelCache(Generic[V]):
    def __init__(self, max_entries: int = 8) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: OrderedDict[CacheKey, V] = OrderedDict()
        self._loading: dict[CacheKey, _Slot[V]] = {}
        self._lock = threading.Lock()

    def after_fork(self) -> None:
        """A background job forks this process; a lock another thread held at that moment
        would stay locked forever in the child, so the child gets fresh ones."""
        self._lock = threading.Lock()
        self._loading = {}
        for value in self._entries.values():
            reset = getattr(value, "after_fork", None)
            if reset is not None:
                reset()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: CacheKey) -> bool:
        with self._lock:
            return key in self._entries

    def get_or_load(self, key: CacheKey, load: Callable[[], V]) -> V:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self._count("hit")
                return self._entries[key]
            self._count("miss")
            slot = self._loading.get(key)
            leader = slot is None
            if leader:
                slot = self._loading[key] = _Slot()
        if not leader:
            waited = self._wait(slot)
            return self.get_or_load(key, load) if waited is None else waited
        return self._load(key, slot, load)

    def _wait(self, slot: _Slot[V]) -> V | None:
        """The leader's model, or its error. None when the leader was refused for who it
        is: that refusal names someone else, so the waiter loads for itself."""
        slot.done.wait()
        if isinstance(slot.error, (PermissionDenied, Unauthenticated)):
            return None
        if slot.error is not None:
            raise slot.error
        return slot.value  # type: ignore[return-value]

    def _load(self, key: CacheKey, slot: _Slot[V], load: Callable[[], V]) -> V:
        try:
            slot.value = load()
        except BaseException as exc:
            slot.error = exc
            raise
        else:
            self._store(key, slot.value)
            return slot.value
        finally:
            with self._lock:
                self._loading.pop(key, None)
            slot.done.set()

    def _store(self, key: CacheKey, value: V) -> None:
        with self._lock:
            self._count("load")
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self._count("eviction")

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _count(self, event: str) -> None:
        """One event, in this cache's stats (health) and in the metrics (every process)."""
        field = {"hit": "hits", "miss": "misses", "load": "loads", "eviction": "evictions"}[event]
        setattr(self.stats, field, getattr(self.stats, field) + 1)
        metrics.model_cache(event)


@dataclass
class LoadedModel:
    """A model ready to predict. Keyed by version in the cache, so it carries no alias."""

    name: str
    version: str
    pyfunc: Any
    signature: SignatureInfo
    load_seconds: float
    labels: dict[str, str] | None = None  # class value → name, as the model declares them
    batcher: Batcher | None = None
    direct: Callable[[Any], Any] | None = None  # sklearn's own predict (compat): found at load
    files: Path | None = None  # the folder it was loaded from (shipped to Spark as it is)
    text_columns: frozenset[str] = frozenset()  # free text, as its owner declares it

    def predict(self, data: Any, params: dict[str, Any] | None = None, exact: bool = False) -> Any:
        """The model's output; without params, batched with concurrent requests. ``exact``
        input (what MLflow's schema check would hand the model) may skip that check."""
        metrics.model_called(self.name, self.version, len(data))
        if params:
            return self.pyfunc.predict(data, params=params)
        if self.batcher is not None:
            return self.batcher.predict(data, exact)
        return (self.direct if exact and self.direct else self.pyfunc.predict)(data)

    def predict_proba(self, data: Any) -> Any:
        """The raw model's class probabilities (for a classifier that has them)."""
        return self.pyfunc.get_raw_model().predict_proba(data)

    def after_fork(self) -> None:
        if self.batcher is not None:
            self.batcher.after_fork()


class FailedLoads:
    """Versions that could not load, each remembered ``seconds``: every request for one then
    gets the same answer at once instead of downloading and failing again, and once the time
    is up (a package installed meanwhile) the next request tries again."""

    def __init__(self, seconds: float = LOAD_FAILURE_SECONDS) -> None:
        self.seconds = seconds
        self._failed: dict[CacheKey, tuple[ModelCannotLoad, float]] = {}
        self._lock = threading.Lock()

    def raise_if_recent(self, key: CacheKey) -> None:
        with self._lock:
            failed = self._failed.get(key)
            if failed is not None and time.monotonic() >= failed[1]:
                del self._failed[key]
                failed = None
        if failed is not None:
            raise failed[0]

    def remember(self, key: CacheKey, error: ModelCannotLoad) -> None:
        if self.seconds > 0:
            with self._lock:
                self._failed[key] = (error, time.monotonic() + self.seconds)

    def __len__(self) -> int:
        with self._lock:
            return len(self._failed)

    def after_fork(self) -> None:
        self._lock = threading.Lock()


class ModelLoader:
    """The model a caller asked for: resolved and authorised with the caller's credentials,
    then taken from the cache or loaded once."""

    def __init__(
        self,
        access: ModelAccess,
        cache: ModelCache[LoadedModel],
        batching: BatchSettings,
        failures: FailedLoads | None = None,
    ) -> None:
        self.access = access
        self.cache = cache
        self.batching = batching
        self.failures = failures or FailedLoads()

    def load(self, caller: Caller, name: str, ref: str) -> tuple[ResolvedVersion, LoadedModel]:
        resolved = self.access.resolve(caller, name, ref)
        metrics.note_model(resolved.name, resolved.version)
        registry = self.access.authorize(caller, resolved)
        key = CacheKey(registry.uri, resolved.name, resolved.version)
        self.failures.raise_if_recent(key)  # after the caller's own check, as a hit is
        try:
            return resolved, self.cache.get_or_load(key, lambda: self._load(registry, resolved))
        except ModelCannotLoad as error:
            metrics.model_load_failed(resolved.name, resolved.version)
            self.failures.remember(key, error)
            raise

    def _load(self, registry: Registry, resolved: ResolvedVersion) -> LoadedModel:
        model = _load(registry, resolved)
        if self.batching.on:
            model.batcher = Batcher(model.pyfunc.predict, self.batching, model.direct)
        return model


def _load(registry: Registry, resolved: ResolvedVersion) -> LoadedModel:
    import mlflow.pyfunc

    started = time.perf_counter()
    files = registry.download(resolved)
    prepare_requirement_checks()  # load_model checks the model's requirements
    try:
        pyfunc = mlflow.pyfunc.load_model(str(files))
    except ConsoleError:
        raise
    except Exception as exc:  # the model's own code and files: say which and why
        log.warning("%s version %s did not load", resolved.name, resolved.version, exc_info=True)
        raise load_failure(resolved, exc, folder_environment(files)) from None
    lighter_sklearn_tasks()  # see services/compat.py
    tags = registry.tags(resolved)
    return LoadedModel(
        name=resolved.name,
        version=resolved.version,
        pyfunc=pyfunc,
        signature=describe_signature(pyfunc.metadata.signature),
        load_seconds=time.perf_counter() - started,
        labels=class_labels(tags),
        text_columns=declared_text_columns(tags),
        files=files,
        direct=sklearn_predict(pyfunc),  # see services/compat.py
    )
