"""A job: one long piece of work a person started (a file scored, a table scored on Spark, a
file compared across versions), as the server keeps it.

The record is the one truth about a job for every process and replica: the page, the API and
the runner all read and write it through ``JobStore``. What a person sees of a job (its state,
progress, result and error) is this record, never something the page remembers.

| state       | meaning                                     | next                           |
|-------------|---------------------------------------------|--------------------------------|
| `queued`    | accepted, waiting for a runner              | running, cancelled, failed     |
| `running`   | a runner works on it and beats every second | succeeded, failed, cancelled   |
| `succeeded` | finished; result files published            | (final)                        |
| `failed`    | stopped by an error, or lost (no heartbeat) | (final)                        |
| `cancelled` | stopped by its owner; nothing published     | (final)                        |
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from services.errors import ConsoleError

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

SCORE, COMPARE, EVALUATE = "score", "compare", "evaluate"
LOCAL, SPARK = "local", "spark"  # engines: where the scoring happens
INLINE = "inline"  # the runner for small files: a thread of the process that took the job
PROCESS, CELERY = "process", "celery"  # the runners for the rest: a job process, a worker
MINE = "mine"

# Where a job was started: it decides the audit record's source and which panel shows it.
FROM_CSV, FROM_TABLE, FROM_COMPARE, FROM_API = "csv", "table", "compare", "api"
FROM_EVALUATE, FROM_MONITOR_EVALUATE = "evaluate", "monitor-evaluate"  # the two evaluate panels
ORIGINS = (FROM_CSV, FROM_TABLE, FROM_COMPARE, FROM_API, FROM_EVALUATE, FROM_MONITOR_EVALUATE)

DETAIL = "detail"  # the view's data (preview rows); left out of job lists


class JobNotFound(ConsoleError):
    error_code = "JOB_NOT_FOUND"
    http_status = 404
    title = "No such job"


def job_not_found() -> JobNotFound:
    """The same answer for another user's job as for none at all: an id tells nothing."""
    return JobNotFound(
        "There is no job with that id among yours.",
        hint="GET /api/jobs lists your jobs; a finished job goes when its files expire.",
    )


def job_lost() -> dict[str, Any]:
    return {
        "error_code": "JOB_LOST",
        "message": "The job stopped before it finished: the process running it ended "
        "(a restart, a crash, or it ran out of memory). Nothing was published.",
        "hint": "Start it again; if it happens again, tell the administrator.",
    }


def job_waited_too_long() -> dict[str, Any]:
    return {
        "error_code": "JOB_NOT_STARTED",
        "message": "No worker took the job: it waited in the queue too long.",
        "hint": "Tell the administrator: the job workers may be down (REDIS_URL is set).",
    }


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Job:
    job_id: str
    owner: str  # the user the server identified when the job was started
    kind: str  # SCORE, COMPARE or EVALUATE
    origin: str
    model: str
    ref: str  # as the person asked for it: a version or an alias
    version: str  # the version it resolved to when the job was accepted; the job uses it
    alias: str | None
    engine: str
    source: str  # as written: upload:<id>, a path or table:name (names, never data)
    destination: str
    format: str
    source_name: str = ""  # what a person calls the source: the uploaded file's name
    options: dict[str, Any] = field(default_factory=dict)
    state: str = QUEUED
    progress: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    runner: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    updated: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_requested: bool = False

    @property
    def done(self) -> bool:
        return self.state in FINISHED

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def failed_rows(self) -> int:
        return int((self.summary or {}).get("failed_rows") or 0)

    def to_dict(self, detail: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not detail:
            data.pop(DETAIL)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
