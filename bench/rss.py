"""Resident memory of a server's whole process tree (master and workers), sampled in a thread."""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator

import psutil

MB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.05


def tree_pids(pid: int) -> set[int]:
    try:
        return {pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def tree_rss(pid: int, only: set[int] | None = None) -> int:
    """Bytes resident in ``pid`` and all its descendants (workers come and go: skip the gone);
    with ``only``, in those of them whose pid is in it."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    if only is not None:
        processes = [p for p in processes if p.pid in only]
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total


def idle_rss(pid: int, seconds: float = 1.0, only: set[int] | None = None) -> int:
    """Median of the samples over ``seconds`` while nothing is asked of the server."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(tree_rss(pid, only))
        time.sleep(SAMPLE_INTERVAL_S)
    return int(statistics.median(samples))


class PeakSampler:
    """Samples ``tree_rss(pid)`` every ~50 ms until stopped; keeps the peak and the count."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.samples += 1
            self._stop.wait(SAMPLE_INTERVAL_S)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def sampling_peak(pid: int) -> Iterator[PeakSampler]:
    sampler = PeakSampler(pid)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()


def settled_mb(measure: Callable[[], list[float]], timeout_s: float) -> list[float]:
    """``measure()`` (megabytes of some processes) once two looks a second apart agree
    within 1 MB each: whatever those processes were importing is done. Raises
    ``TimeoutError`` when they never agree."""
    last = measure()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1)
        now = measure()
        if len(now) == len(last) and all(abs(a - b) < 1 for a, b in zip(now, last, strict=True)):
            return now
        last = now
    raise TimeoutError(f"memory did not settle in {timeout_s:.0f} s: last {last} MB")
