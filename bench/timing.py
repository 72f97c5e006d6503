"""Timing helpers of the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_seconds(action: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` runs: the run least disturbed by everything else."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def alternating(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """Milliseconds of each call, ``repeat`` times, the calls taking turns: a busy moment of
    the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - started) * 1000)
    return times
