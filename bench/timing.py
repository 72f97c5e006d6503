"""Timing helpers for the in-process benchmarks (``python -m bench.<name>``)."""

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
