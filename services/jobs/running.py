"""A job while it runs, wherever its runner put it: its progress saved every second (the
heartbeat any process reads), and a cancel asked from any process turned into a stop."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from services.access.caller import Caller
from services.errors import job_cancelled
from services.jobs.record import Job
from services.jobs.store import JobGone, JobStore

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0


class JobRun:
    """What a job's work sees of its record: who runs it, where to report, whether to stop.
    The work reports after every chunk and calls ``check`` there; a cancel (or the record
    found lost) raises ``JobCancelled`` at the next chunk."""

    def __init__(self, job: Job, caller: Caller) -> None:
        self.job = job
        self.caller = caller
        self.cancelled = threading.Event()  # set by the heartbeat (Spark watches it too)
        self._lock = threading.Lock()
        self._first: tuple[float, float] | None = None  # (when, done) at the first report

    def report(self, rows_done: int, rows_total: int | None, **parts: Any) -> None:
        """Rows (and, on Spark, parts) done of all; the time left at this pace."""
        self.check()
        progress: dict[str, Any] = {"rows_done": rows_done, "rows_total": rows_total, **parts}
        done, total = _done_and_total(progress)
        progress["percent"] = min(100, int(100 * done / total)) if total else 0
        eta = self._time_left(done, total)
        if eta is not None:
            progress["eta_seconds"] = eta
        with self._lock:
            self.job.progress = progress

    def _time_left(self, done: float, total: float) -> float | None:
        """At the pace since the first report (loading the model and reading the first
        chunk are not the pace of the rest)."""
        now = time.monotonic()
        if self._first is None:
            self._first = (now, done)
            return None
        started, done_then = self._first
        if not total or done >= total or done <= done_then:
            return None
        return round((now - started) * (total - done) / (done - done_then), 1)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise job_cancelled()

    def snapshot(self) -> Job:
        with self._lock:
            return Job.from_dict(self.job.to_dict())


def _done_and_total(progress: dict[str, Any]) -> tuple[float, float]:
    """Parts (Spark tasks) when counted, else rows."""
    if progress.get("parts_total"):
        return progress.get("parts_done") or 0, progress["parts_total"]
    return progress.get("rows_done") or 0, progress.get("rows_total") or 0


class Heartbeat:
    """Saves the running job every second (its progress, and proof it is alive) and sets the
    run's ``cancelled`` when a cancel was asked for, or when the job is no longer running."""

    def __init__(self, store: JobStore, run: JobRun) -> None:
        self.store = store
        self.run = run
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"job-beat-{run.job.job_id[:8]}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.done.set()
        self.thread.join(timeout=10)

    def _beat(self) -> None:
        while not self.done.wait(HEARTBEAT_SECONDS):
            try:
                if self.store.beat(self.run.snapshot()):
                    self.run.cancelled.set()
            except JobGone:
                self.run.cancelled.set()
                return
            except Exception as error:  # a database busy a moment: the next beat tries again
                with contextlib.suppress(Exception):
                    log.warning("job heartbeat not saved (%s)", type(error).__name__)
