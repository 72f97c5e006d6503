"""Cost of serving a cached model with the caller's permission check, against a real MLflow
basic-auth server; baseline: the same cache hit with no permission check (mode none).

    .venv/bin/python bench/permission_check.py [--rounds 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from flask import Flask  # noqa: E402
from flask_caching import Cache  # noqa: E402
from run import stop_on_sigterm  # noqa: E402

from services.access.caller import LOCAL_CALLER, Caller  # noqa: E402
from services.registry.demo import IRIS_MODEL, ensure_demo_models  # noqa: E402
from services.wiring import build_services  # noqa: E402
from tests.auth_server import running_auth_server  # noqa: E402
from tests.conftest import mlflow_basic_settings, settings_for  # noqa: E402


def flask_cache() -> Cache:
    """The same cache the app uses (Flask-Caching SimpleCache: pickles on every get)."""
    cache = Cache()
    cache.init_app(Flask("bench"), config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 5000})
    return cache


def median_microseconds(call, rounds: int) -> tuple[float, float]:
    for _ in range(min(200, rounds)):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000, help="timed calls of each case")
    rounds = parser.parse_args(argv).rounds
    stop_on_sigterm()  # the auth server is stopped on the way out
    with tempfile.TemporaryDirectory(prefix="bench-permission-") as tmp:
        work = Path(tmp)
        embedded = settings_for(work / "embedded")
        ensure_demo_models(embedded.tracking_uri, embedded.app_data_dir)
        local = build_services(embedded, flask_cache())
        base = median_microseconds(
            lambda: local.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "Champion"), rounds
        )

        with running_auth_server(work / "auth") as server:
            settings = replace(mlflow_basic_settings(server, work / "console"))
            services = build_services(settings, flask_cache())
            alice = Caller("alice", "mlflow-basic", password=server.passwords["alice"])
            model = server.models["X"]
            started = time.perf_counter()
            services.scoring.loader.load(alice, model, "Champion")
            first = (time.perf_counter() - started) * 1000
            hot = median_microseconds(
                lambda: services.scoring.loader.load(alice, model, "Champion"), rounds
            )
            resolved = services.registry.resolve(alice, model, "Champion")
            check = median_microseconds(
                lambda: services.registry.authorize(alice, resolved), rounds
            )
            registry = services.registry.registry_for(alice)
            started = time.perf_counter()
            registry.check_access(resolved)
            uncached = (time.perf_counter() - started) * 1000
            services.audit.close()  # the writers must not outlive the folder
        local.audit.close()

    rows = [
        ("cache hit, mode none (no permission check)", *base),
        ("cache hit + alice's permission check (mlflow-basic)", *hot),
        ("  of which the cached verdict lookup", *check),
    ]
    print(f"{'case':55} {'median µs':>10} {'p99 µs':>10}")
    for name, median, p99 in rows:
        print(f"{name:55} {median:10.1f} {p99:10.1f}")
    print(f"\npermission check overhead on a hit: {hot[0] - base[0]:.1f} µs (median)")
    print(f"verdict miss (3 calls to the MLflow server): {uncached:.0f} ms")
    print(f"first load for alice (check + download + load): {first:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
