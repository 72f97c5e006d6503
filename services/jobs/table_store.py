"""Table job records: one JSON file per job in its owner's folder, written whole (a reader
never sees half a record), and the cancel marks other processes leave beside them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from services.access.caller import Caller
from services.errors import ConsoleError

RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
LOST_AFTER_SECONDS = 30  # no heartbeat for this long: the process running the job is gone
KEPT_SECONDS = 7 * 24 * 3600
_ID = re.compile(r"[0-9a-f]{32}")


class JobNotFound(ConsoleError):
    error_code = "JOB_NOT_FOUND"
    http_status = 404
    title = "No such job"


def job_not_found() -> JobNotFound:
    """The same answer for another user's job as for none at all: an id tells nothing."""
    return JobNotFound(
        "There is no job with that id among yours.", hint="GET /api/jobs lists your jobs."
    )


def job_lost() -> dict[str, Any]:
    return {
        "error_code": "JOB_LOST",
        "message": "The job stopped before it finished: the server process running it ended "
        "(a restart or a crash). Nothing was published.",
        "hint": "Start it again.",
    }


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass
class TableJob:
    job_id: str
    model: str
    ref: str
    version: str
    engine: str
    source: str  # names as the user wrote them (never data)
    destination: str
    format: str
    state: str
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    progress: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableJob:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, caller: Caller) -> Path:
        folder = self.root / hashlib.sha256(caller.user.encode()).hexdigest()[:24]
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _path(self, caller: Caller, job_id: str, suffix: str = ".json") -> Path:
        if not isinstance(job_id, str) or not _ID.fullmatch(job_id):
            raise job_not_found()
        return self._folder(caller) / f"{job_id}{suffix}"

    def save(self, caller: Caller, job: TableJob) -> None:
        path = self._path(caller, job.job_id)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(job.to_dict(), default=str))
        os.replace(partial, path)

    def load(self, caller: Caller, job_id: str) -> TableJob:
        path = self._path(caller, job_id)
        try:
            job = TableJob.from_dict(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            raise job_not_found() from None
        return _checked(job)

    def all(self, caller: Caller) -> list[TableJob]:
        jobs = []
        now = time.time()
        for path in self._folder(caller).glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                job = _checked(TableJob.from_dict(json.loads(path.read_text())))
                if now - job.updated > KEPT_SECONDS:
                    path.unlink(missing_ok=True)
                    continue
                jobs.append(job)
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def active(self, caller: Caller) -> int:
        return sum(1 for job in self.all(caller) if not job.finished)

    def request_cancel(self, caller: Caller, job_id: str) -> None:
        self._path(caller, job_id, ".cancel").touch()

    def cancel_requested(self, caller: Caller, job_id: str) -> bool:
        return self._path(caller, job_id, ".cancel").exists()


def _checked(job: TableJob) -> TableJob:
    """A running job whose heartbeat stopped is reported as what it is: lost."""
    if not job.finished and time.time() - job.updated > LOST_AFTER_SECONDS:
        job.state, job.error = FAILED, job_lost()
    return job
