"""Many clients at once: each a thread with its own keep-alive session, a fixed share of
1-row predict requests each; throughput over the whole round and every request's latency."""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import psutil
import requests
from report import Section, median

JSON_HEADERS = {"Content-Type": "application/json"}
REQUEST_TIMEOUT_S = 60.0
PROBE_AFTER_S = 0.5


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    body: bytes
    probe: Callable[[], str] | None = None  # asked once per round: how clients spread


@dataclass(frozen=True)
class Round:
    target: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    split: str = ""

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


@dataclass
class _ClientLog:
    latencies_ms: list[float]
    errors: int = 0
    first_error: str = ""
    finished: float = 0.0


def _one_request(session: requests.Session, target: Target, log: _ClientLog) -> None:
    started = time.perf_counter()
    try:
        response = session.post(
            target.url, data=target.body, headers=JSON_HEADERS, timeout=REQUEST_TIMEOUT_S
        )
        ok = response.status_code == 200 and b'"predictions"' in response.content
        detail = f"{response.status_code}: {response.text[:200]}"
    except requests.RequestException as error:
        ok, detail = False, repr(error)
    if ok:
        log.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        log.errors += 1
        log.first_error = log.first_error or detail


def _client(target: Target, count: int, start: threading.Barrier) -> _ClientLog:
    log = _ClientLog(latencies_ms=[])
    with requests.Session() as session:
        start.wait()
        for _ in range(count):
            _one_request(session, target, log)
    log.finished = time.perf_counter()
    return log


def shares(total: int, clients: int) -> list[int]:
    """``total`` requests split as evenly as possible over ``clients``."""
    base, extra = divmod(total, clients)
    return [base + (1 if i < extra else 0) for i in range(clients)]


def connection_split(pid: int, port: int) -> str:
    """Open client connections held by each worker of the server ``pid`` on ``port``, "7/9"."""
    counts = []
    with contextlib.suppress(psutil.Error):
        for worker in psutil.Process(pid).children(recursive=True):
            held = worker.net_connections("tcp")
            counts.append(sum(c.status == "ESTABLISHED" and c.laddr.port == port for c in held))
    return "/".join(map(str, sorted(counts)))


def run_round(target: Target, clients: int, total: int) -> Round:
    """All clients start together (a barrier); the clock stops when the last one is done.
    The target's probe is asked once, shortly after the start."""
    counts = shares(total, clients)
    start = threading.Barrier(clients + 1, timeout=REQUEST_TIMEOUT_S)
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(_client, target, count, start) for count in counts]
        start.wait()
        started = time.perf_counter()
        split = ""
        if target.probe is not None:
            time.sleep(PROBE_AFTER_S)
            split = target.probe()
        logs = [future.result() for future in futures]
    seconds = max(log.finished for log in logs) - started
    errors = sum(log.errors for log in logs)
    if errors:
        first = next(log.first_error for log in logs if log.errors)
        print(f"  {target.name}: {errors} failed requests, first: {first}")
    latencies = [ms for log in logs for ms in log.latencies_ms]
    return Round(target.name, total, errors, seconds, latencies, split)


def concurrency_row(name: str, results: list[Round], base: float) -> list[str]:
    speeds = [r.throughput for r in results]
    return [
        name,
        f"{sum(r.requests for r in results):,}",
        str(sum(r.errors for r in results)),
        f"{median(speeds):.0f}",
        f"{min(speeds):.0f}–{max(speeds):.0f}",
        f"{median([r.percentile(50) for r in results]):.1f}",
        f"{median([r.percentile(99) for r in results]):.1f}",
        f"{median(speeds) / base:.2f}x",
        " ".join(r.split or "?" for r in results),
    ]


def concurrency_section(rounds: dict[str, list[Round]], args: argparse.Namespace) -> Section:
    ours, theirs = list(rounds)
    base = median([r.throughput for r in rounds[theirs]])
    rows = [concurrency_row(name, results, base) for name, results in rounds.items()]
    errors = sum(r.errors for results in rounds.values() for r in results)
    ratio = median([r.throughput for r in rounds[ours]]) / base
    header = [
        "server",
        "requests",
        "errors",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "req/s vs mlflow",
        "clients per process, each round",
    ]
    lines = [
        f"{args.clients} threads, each its own keep-alive session; {args.requests:,} 1-row "
        f"predicts per round, {args.rounds} rounds each, taking turns; medians over rounds",
        "clients per process: open connections each server process held 0.5 s into a round "
        "(a keep-alive connection stays with the worker that accepted it)",
        f"throughput ours/mlflow serve: {ratio:.2f}x; errors: {errors} "
        f"[{'PASS' if errors == 0 else 'FAIL'}]",
    ]
    return Section("1. Concurrency: 1-row predicts", header, rows, lines)
