"""The process-local model cache: bounded, keyed by version, one load per key."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.scoring.models import CacheKey, ModelCache


def key(version: str) -> CacheKey:
    return CacheKey("sqlite:///r.db", "m", version)


def test_least_recently_used_entry_is_evicted():
    cache: ModelCache[str] = ModelCache(max_entries=2)
    cache.get_or_load(key("1"), lambda: "one")
    cache.get_or_load(key("2"), lambda: "two")
    cache.get_or_load(key("1"), lambda: "reloaded")  # touch 1, so 2 is the oldest
    cache.get_or_load(key("3"), lambda: "three")
    assert key("1") in cache and key("3") in cache and key("2") not in cache
    assert cache.stats.evictions == 1


def test_a_hit_returns_the_same_live_object():
    cache: ModelCache[object] = ModelCache()
    model = object()
    assert cache.get_or_load(key("1"), lambda: model) is model
    assert cache.get_or_load(key("1"), object) is model
    assert (cache.stats.hits, cache.stats.loads) == (1, 1)


def test_concurrent_requests_for_one_key_load_it_once():
    cache: ModelCache[str] = ModelCache()
    release = threading.Event()
    calls = []

    def slow_load() -> str:
        calls.append(1)
        release.wait(timeout=30)
        return "model"

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(cache.get_or_load, key("1"), slow_load) for _ in range(8)]
        while cache.stats.misses < 8:  # every thread has asked before the load finishes
            threading.Event().wait(0.001)
        release.set()
        results = [f.result(timeout=30) for f in futures]
    assert results == ["model"] * 8
    assert len(calls) == 1


def test_a_failed_load_is_not_cached_and_reaches_every_waiter():
    cache: ModelCache[str] = ModelCache()

    def broken() -> str:
        raise RuntimeError("files missing")

    with pytest.raises(RuntimeError, match="files missing"):
        cache.get_or_load(key("1"), broken)
    assert cache.get_or_load(key("1"), lambda: "fixed") == "fixed"


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        ModelCache(max_entries=0)


def test_a_waiter_is_not_given_another_callers_refusal():
    """Bob's load waits on Alice's; Alice is refused. Bob must load for himself, not be told
    that Alice may not run the model."""
    from services.errors import PermissionDenied

    cache: ModelCache[str] = ModelCache()
    alice_started, release = threading.Event(), threading.Event()

    def alice_load() -> str:
        alice_started.set()
        release.wait(timeout=30)
        raise PermissionDenied("alice may not run m.")

    with ThreadPoolExecutor(max_workers=2) as pool:
        alice = pool.submit(cache.get_or_load, key("1"), alice_load)
        alice_started.wait(timeout=30)
        bob = pool.submit(cache.get_or_load, key("1"), lambda: "bob's model")
        while cache.stats.misses < 2:
            threading.Event().wait(0.001)
        release.set()
        with pytest.raises(PermissionDenied, match="alice"):
            alice.result(timeout=30)
        assert bob.result(timeout=30) == "bob's model"


def test_an_evicted_model_is_freed(settings, tmp_path):
    """Nothing keeps a model alive once the cache lets it go (no gc.freeze at each load, so
    a console that serves many models in turn stays the size of the ones it keeps)."""
    import gc
    import weakref
    from dataclasses import replace

    from cachelib import SimpleCache

    from services.access.caller import LOCAL_CALLER
    from services.registry.demo import CHURN_MODEL, IRIS_MODEL
    from services.wiring import build_services

    one_model = replace(settings, app_data_dir=tmp_path, model_cache_size=1)
    services = build_services(one_model, SimpleCache())
    _, iris = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "1")
    iris.pyfunc.itself = iris.pyfunc  # as many models are: a cycle only the collector frees
    freed = weakref.ref(iris.pyfunc)
    del iris
    services.scoring.loader.load(LOCAL_CALLER, CHURN_MODEL, "1")  # evicts iris
    gc.collect()
    assert freed() is None
