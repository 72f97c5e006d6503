"""Job records in the database that holds the audit log (SQLite under $APP_DATA_DIR by
default; with AUDIT_DB_URL a PostgreSQL every replica and worker shares).

Every change of state is a conditional update, so two processes can never both move one job:
a runner claims a queued job only if it is still queued, saves progress only while the job
is running, and finishes it only from running; a cancel of a queued job wins only if no
runner has claimed it. A running job whose heartbeat stopped for ``lost_seconds`` is failed
here, on read, once and for all (a runner that comes back finds it failed and stops).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.database import TablesEngine
from services.jobs.record import (
    ACTIVE,
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    Job,
    job_lost,
    job_not_found,
    job_waited_too_long,
)

WAIT_SECONDS = 5  # a lock on SQLite: a heartbeat or a poll waits this long at most

metadata = MetaData()
jobs_table = Table(
    "console_jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("owner", String(320), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("created", Float, nullable=False, index=True),
    Column("updated", Float, nullable=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("record", Text, nullable=False),
)
T = TypeVar("T")
JOB_ID = re.compile(r"[0-9a-f]{32}")
LISTED = 100  # the newest jobs a person sees
SWEEP_SECONDS = 60  # how often expired records are removed (a write: not on every read)


class JobStore:
    def __init__(
        self, url: str, lost_seconds: float, queued_seconds: float, kept_seconds: float
    ) -> None:
        self.url = url
        self.lost_seconds = lost_seconds  # running without a heartbeat this long: lost
        self.queued_seconds = queued_seconds  # never taken by a runner this long: failed
        self.kept_seconds = kept_seconds  # finished jobs go with their files
        self._tables = TablesEngine(url, metadata, WAIT_SECONDS)
        self._swept = 0.0

    @property
    def engine(self) -> Engine:
        return self._tables.get()

    def after_fork(self) -> None:
        self._tables.after_fork()

    def insert(self, job: Job) -> None:
        with self.engine.begin() as connection:
            connection.execute(jobs_table.insert().values(**_columns(job), record=_text(job)))

    def load(self, owner: str, job_id: str) -> Job:
        """The owner's job; anyone else's id is "not found", as is an id that never was."""
        if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
            raise job_not_found()
        query = select(jobs_table).where(jobs_table.c.job_id == job_id, jobs_table.c.owner == owner)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise job_not_found()
        return self._current(row)

    def load_any(self, job_id: str) -> Job | None:
        """A job by id alone: for its runner, which holds the owner only sealed."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(jobs_table).where(jobs_table.c.job_id == job_id)
            ).first()
        return None if row is None else self._current(row)

    def list(self, owner: str) -> list[Job]:
        """The owner's jobs, newest first; finished ones whose files are gone are removed."""
        self._forget_expired()
        query = (
            select(jobs_table)
            .where(jobs_table.c.owner == owner)
            .order_by(jobs_table.c.created.desc())
            .limit(LISTED)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [self._current(row) for row in rows]

    def active_count(self, owner: str) -> int:
        return sum(1 for job in self.list(owner) if job.active)

    def claim(self, job_id: str, runner: str) -> Job | None:
        """queued → running for the runner that takes it; None if it is no longer queued
        (cancelled meanwhile, or taken by another)."""
        now = time.time()
        job = self.load_any(job_id)
        if job is None or job.state != QUEUED:
            return None
        job.state, job.started, job.updated, job.runner = RUNNING, now, now, runner
        moved = self._move(job, when=jobs_table.c.state == QUEUED)
        return job if moved else None

    def beat(self, job: Job) -> bool:
        """Save a running job's progress; whether a cancel was asked for. Raises ``JobGone``
        when the job is no longer running (found lost): its runner must stop."""
        job.updated = time.time()
        if not self._move(job, when=jobs_table.c.state == RUNNING):
            raise JobGone()
        return self.cancel_requested(job.job_id)

    def finish(self, job: Job) -> bool:
        """running → a final state; False when the job had already been failed as lost or
        cancelled (its result must not stay published)."""
        job.updated = job.finished = time.time()
        return self._move(job, when=jobs_table.c.state.in_(ACTIVE))

    def cancel(self, owner: str, job_id: str) -> Job:
        """Ask the owner's job to stop: a queued job is cancelled at once; a running one is
        marked, and its runner (wherever it is) stops within a second or so."""
        job = self.load(owner, job_id)
        if job.done:
            return job
        if job.state == QUEUED:
            job.state, job.finished, job.updated = CANCELLED, time.time(), time.time()
            if self._move(job, when=jobs_table.c.state == QUEUED):
                return job
        with self.engine.begin() as connection:
            connection.execute(
                update(jobs_table)
                .where(jobs_table.c.job_id == job_id, jobs_table.c.owner == owner)
                .values(cancel_requested=True)
            )
        return self.load(owner, job_id)

    def cancel_requested(self, job_id: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(jobs_table.c.cancel_requested).where(jobs_table.c.job_id == job_id)
            ).scalar()
        return bool(found)

    def fail_if_running(self, job_id: str, error: dict[str, Any]) -> None:
        """A runner's process ended without finishing its job: failed now, not in
        ``lost_seconds``."""
        self._end_if_running(job_id, FAILED, error)

    def cancel_if_running(self, job_id: str) -> None:
        """A runner's process was stopped because its job was cancelled: cancelled, as
        asked, not failed."""
        self._end_if_running(job_id, CANCELLED, None)

    def _end_if_running(self, job_id: str, state: str, error: dict[str, Any] | None) -> None:
        job = self.load_any(job_id)
        if job is not None and job.active:
            job.state, job.error = state, error
            job.updated = job.finished = time.time()
            self._move(job, when=jobs_table.c.state.in_(ACTIVE))

    def _move(self, job: Job, when: Any) -> bool:
        statement = (
            update(jobs_table)
            .where(and_(jobs_table.c.job_id == job.job_id, when))
            .values(state=job.state, updated=job.updated, record=_text(job))
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def _current(self, row: Any) -> Job:
        """The record as it stands now: a silent running job is failed as lost, a queued
        job nobody took in time as not started (both written, so every reader agrees)."""
        job = Job.from_dict(json.loads(row.record))
        job.cancel_requested = bool(row.cancel_requested)
        now = time.time()
        if job.state == RUNNING and now - job.updated > self.lost_seconds:
            if job.cancel_requested:  # asked to stop, and it has: as the person asked
                return self._ended(job, CANCELLED, None, RUNNING)
            return self._ended(job, FAILED, job_lost(), RUNNING)
        if job.state == QUEUED and now - job.created > self.queued_seconds:
            return self._ended(job, FAILED, job_waited_too_long(), QUEUED)
        return job

    def _ended(self, job: Job, state: str, error: dict[str, Any] | None, was: str) -> Job:
        stale_beat = job.updated
        job.state, job.error, job.finished = state, error, time.time()
        job.updated = job.finished
        condition = and_(jobs_table.c.state == was, jobs_table.c.updated == stale_beat)
        if self._move(job, when=condition):
            return job
        fresh = self.load_any(job.job_id)  # it moved meanwhile: what it is now
        return fresh if fresh is not None else job

    def _forget_expired(self) -> None:
        now = time.time()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept, horizon = now, now - self.kept_seconds
        with self.engine.begin() as connection:
            connection.execute(
                jobs_table.delete().where(
                    jobs_table.c.state.not_in(ACTIVE),
                    jobs_table.c.updated < horizon,
                )
            )

    def count_all(self) -> dict[str, int]:
        """Jobs per state, every owner (for health and the operator)."""
        query = select(jobs_table.c.state, func.count()).group_by(jobs_table.c.state)
        with self.engine.connect() as connection:
            return {state: count for state, count in connection.execute(query)}

    def count_by_kind_and_state(self) -> dict[tuple[str, str], int]:
        """Jobs per kind and state, every owner (for the metrics)."""
        columns = (jobs_table.c.kind, jobs_table.c.state)
        query = select(*columns, func.count()).group_by(*columns)
        with self.engine.connect() as connection:
            return {(kind, state): count for kind, state, count in connection.execute(query)}


class JobGone(Exception):
    """The job this runner works on is no longer running (lost, or finished elsewhere)."""


def retrying(action: Callable[[], T], seconds: float, pause: float = 0.5) -> T:
    """``action`` again while the database is busy or away, for up to ``seconds`` (a
    runner's claim and its final state must not be lost to a lock held a moment)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except SQLAlchemyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)


def _columns(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "owner": job.owner,
        "kind": job.kind,
        "state": job.state,
        "created": job.created,
        "updated": job.updated,
        "cancel_requested": False,
    }


def _text(job: Job) -> str:
    return json.dumps(job.to_dict(), default=str, ensure_ascii=False)
