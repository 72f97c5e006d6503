"""Prometheus metrics: what the console counts, and the text a scrape reads.

Counted in every process that serves (requests, their latency and errors per route template,
model and version; rows per model call; the model cache's hits, loads and evictions; models
that failed to load; audit records made and stored, and those a sweep found waiting); jobs by
kind and state are read from the job table at scrape time, so every worker, Celery worker and
job process agrees on them.

Under gunicorn, each worker counts in its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set
before ``prometheus_client`` is first imported (``services.startup.prepare_metrics_dir``, in
gunicorn's master), every process writes its counts to files there and a scrape, answered by
any worker, adds them all up; a worker that has ended still counts. The one gauge kept per
process, the audit backlog, is the newest value any process set. Without it (Flask's
development server, a host app) the counts are this process's.

No Flask here: ``api/metrics.py`` is the route and the request hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from services.settings import PROMETHEUS_MULTIPROC_DIR

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"  # a path no route takes: one label, whatever was asked
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
# Seconds: a one-row prediction takes milliseconds, a CSV check or a file scored in the
# request may take a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
REQUEST_LABELS = ("route", "method", "status", "model", "version")

# One set per process: two consoles in one process (tests, a host app) count together.
_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "console_http_requests",
    "HTTP requests answered, by route template, method, status, model and resolved version.",
    REQUEST_LABELS,
    registry=_REGISTRY,
)
ERRORS = Counter(
    "console_http_request_errors",
    "HTTP requests answered with a 4xx or 5xx status.",
    REQUEST_LABELS,
    registry=_REGISTRY,
)
LATENCY = Histogram(
    "console_http_request_duration_seconds",
    "Time from the request's arrival to its answer, by route template, model and version.",
    ("route", "model", "version"),
    buckets=LATENCY_BUCKETS,
    registry=_REGISTRY,
)
# Rows: one row from the form, a JSON batch, a job's chunk (PREDICT_CHUNK_ROWS, 50,000).
ROWS_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000)
PREDICT_ROWS = Histogram(
    "console_predict_rows",
    "Rows per call to a model (a request's rows, or a job's chunk), by model and version.",
    ("model", "version"),
    buckets=ROWS_BUCKETS,
    registry=_REGISTRY,
)
MODEL_CACHE = Counter(
    "console_model_cache_events",
    "The loaded-model cache: hit (in memory), miss, load (from the registry), eviction.",
    ("event",),
    registry=_REGISTRY,
)
AUDIT_MADE = Counter(
    "console_audit_records_made",
    "Audit records made (each written to the spool first, or logged when it cannot be).",
    registry=_REGISTRY,
)
AUDIT_DONE = Counter(
    "console_audit_records_stored",
    "Audit records stored in the audit database, or set aside as refused by it.",
    registry=_REGISTRY,
)
# The newest sweep's count wins, whichever process swept (one sweeps at a time).
AUDIT_BACKLOG = Gauge(
    "console_audit_backlog",
    "Audit records waiting in the spool for the audit database, as the latest sweep found "
    "them (every 30 s; 0 once the database has them all).",
    registry=_REGISTRY,
    multiprocess_mode="mostrecent",
)
MODEL_LOAD_FAILURES = Counter(
    "console_model_load_failures",
    "Model versions that failed to load (each attempt; a failure remembered is not retried).",
    ("model", "version"),
    registry=_REGISTRY,
)


@dataclass
class ModelUsed:
    """The model a request used, as the registry resolved it (a version, never an alias)."""

    name: str = ""
    version: str = ""


_model_used: ContextVar[ModelUsed | None] = ContextVar("model_used", default=None)


def start_request() -> None:
    """A request begins: it has used no model yet (a thread serves many requests)."""
    _model_used.set(ModelUsed())


def note_model(name: str, version: str) -> None:
    """Called where a reference is pinned to a version; several (a comparison): joined."""
    used = _model_used.get()
    if used is None:  # not in a request (a job's thread): nothing to label
        return
    if used.name and (used.name, used.version) != (name, version):
        versions = sorted({*used.version.split("+"), version})
        used.version = "+".join(versions)
        return
    used.name, used.version = name, version


def finish_request(route: str | None, method: str, status: int, seconds: float) -> None:
    used = _model_used.get() or ModelUsed()
    _model_used.set(None)
    method = method if method in METHODS else "other"  # whatever a client sends: bounded
    labels = (route or UNMATCHED, method, str(status), used.name, used.version)
    REQUESTS.labels(*labels).inc()
    if status >= 400:
        ERRORS.labels(*labels).inc()
    LATENCY.labels(route or UNMATCHED, used.name, used.version).observe(seconds)


def model_load_failed(name: str, version: str) -> None:
    MODEL_LOAD_FAILURES.labels(name, version).inc()


def model_called(name: str, version: str, rows: int) -> None:
    PREDICT_ROWS.labels(name, version).observe(rows)


def model_cache(event: str) -> None:
    MODEL_CACHE.labels(event).inc()


def audit_made() -> None:
    AUDIT_MADE.inc()


def audit_stored(records: int) -> None:
    if records:
        AUDIT_DONE.inc(records)


_WAITING_BY_SPOOL: dict[str, int] = {}


def audit_waiting(spool: str, records: int) -> None:
    """What the latest sweep of one spool folder found; the gauge is this process's sum
    (two consoles in one process keep two spools, and one's sweep does not hide the other's)."""
    _WAITING_BY_SPOOL[spool] = records
    AUDIT_BACKLOG.set(sum(_WAITING_BY_SPOOL.values()))


class JobsByKindAndState:
    """``console_jobs{kind,state}`` read from the job table when scraped."""

    def __init__(self, count: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.count = count

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "console_jobs", "Jobs held by the server, by kind and state.", labels=["kind", "state"]
        )
        for (kind, state), number in sorted(self.count().items()):
            family.add_metric([kind, state], number)
        yield family


class _ThisProcess:
    """This process's own counts (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        return _REGISTRY.collect()


def exposition(jobs: Callable[[], dict[tuple[str, str], int]]) -> bytes:
    """The text a scrape reads: every process's counts (or this one's), and the jobs."""
    registry = CollectorRegistry(auto_describe=False)
    if PROMETHEUS_MULTIPROC_DIR.text():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(JobsByKindAndState(jobs))
    return generate_latest(registry)
