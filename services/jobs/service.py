"""The one job system: every long piece of work a person starts, from the page or the API.

``submit`` runs in the request: the quota, then the kind's own checks (the model resolved
and authorised with the caller's credentials, the file the caller's own, the places
allowed), then the record, then a runner is handed the job id and the caller sealed for
that one job. ``execute`` runs wherever the runner runs it (a clean process here, a Celery
worker, a thread driving Spark): it opens the seal, claims the job, beats every second while
the kind does its work, and writes how it ended. A job ends in exactly one final state, and
a result is published only by a job that ends ``succeeded``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from services.access.caller import Caller
from services.errors import (
    ConsoleError,
    InvalidInput,
    JobCancelled,
    job_database_unavailable,
    jobs_unavailable,
    scoring_job_broke,
    too_many_jobs,
)
from services.files.store import UserFiles
from services.jobs.kinds import JobKind
from services.jobs.record import (
    CANCELLED,
    FAILED,
    INLINE,
    LOCAL,
    ORIGINS,
    SCORE,
    SPARK,
    SUCCEEDED,
    Job,
)
from services.jobs.running import Heartbeat, JobRun
from services.jobs.seal import CallerSeal
from services.jobs.store import JobStore, retrying

if TYPE_CHECKING:
    from services.jobs.runners import Runner

log = logging.getLogger(__name__)
SAVE_RETRY_SECONDS = 30  # a runner's claim and final state wait this long for a busy database


class JobService:
    def __init__(
        self,
        store: JobStore,
        seal: CallerSeal,
        files: UserFiles,
        kinds: list[JobKind],
        jobs_per_user: int,
        inline_bytes: int = 0,
    ) -> None:
        self.store = store
        self.seal = seal
        self.files = files
        self.kinds = {kind.name: kind for kind in kinds}
        self.jobs_per_user = jobs_per_user
        self.inline_bytes = inline_bytes  # files up to this are scored in this process
        self.runners: dict[str, Runner] = {}  # LOCAL, SPARK and maybe INLINE: by the wiring

    def expect_one(self, size: int | None) -> None:
        """A file of ``size`` bytes (None: unknown) is arriving, and a job on it is likely
        next: the runner that would run it gets ready in the background, so that the job
        does not wait for it (a fork server's imports take seconds)."""
        if self._inline(size):
            return  # scored in this process: nothing to get ready
        prepare = getattr(self.runners.get(LOCAL), "warm_up", None)
        if prepare is not None:
            with contextlib.suppress(RuntimeError):  # no thread to spare: the job starts it
                threading.Thread(target=_quietly, args=(prepare,), daemon=True).start()

    def submit(self, caller: Caller, name: str, ref: str, request: Any, origin: str) -> Job:
        """Check everything that can refuse the job, then queue it; its record at once."""
        body = _request(request)
        kind = self._kind(body.get("kind"))
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin!r}")
        with _database():
            running = self.store.active_count(caller.user)
        if running >= self.jobs_per_user:
            raise too_many_jobs(self.jobs_per_user)
        job = kind.prepare(caller, name, ref, body, origin)
        runner = self._runner_for(job)
        job.runner = runner.name
        with _database():
            self.store.insert(job)
        try:
            runner.start(job, self.seal.seal(caller, job.job_id))
        except Exception:
            log.exception("job %s could not be started by the %s runner", job.job_id, runner.name)
            with contextlib.suppress(SQLAlchemyError):  # else it fails when its queue time is up
                self.store.fail_if_running(job.job_id, jobs_unavailable().to_dict())
            raise jobs_unavailable() from None
        return job

    def get(self, caller: Caller, job_id: str) -> Job:
        with _database():
            return self.store.load(caller.user, job_id)

    def list(self, caller: Caller) -> list[Job]:
        with _database():
            return self.store.list(caller.user)

    def cancel(self, caller: Caller, job_id: str) -> Job:
        """Ask the caller's job to stop, wherever it runs; a finished job stays as it is."""
        with _database():
            job = self.store.cancel(caller.user, job_id)
        runner = next((r for r in self.runners.values() if r.name == job.runner), None)
        if runner is not None and job.state == CANCELLED:
            runner.forget(job)  # it never started: nothing will claim it
        return job

    def execute(self, job_id: str, sealed: str, runner: str) -> None:
        """In the runner: do the job as the person who started it; always end it."""
        try:
            caller = self.seal.open(sealed, job_id)
        except ConsoleError as error:
            self.store.fail_if_running(job_id, error.to_dict())
            return
        job = retrying(lambda: self.store.claim(job_id, runner), SAVE_RETRY_SECONDS)
        if job is None:
            return  # cancelled while it waited, or taken by another runner
        if job.owner != caller.user:  # a seal opens only for its own job: never expected
            self.store.fail_if_running(job_id, scoring_job_broke().to_dict())
            return
        run = JobRun(job, caller)
        kind = self.kinds[job.kind]
        with Heartbeat(self.store, run):
            ended, error = _work(kind, run)
        job.state, job.error = ended, error  # after the last beat: a beat saves only "running"
        self._end(kind, run)

    def _end(self, kind: JobKind, run: JobRun) -> None:
        job = run.job
        if job.state == SUCCEEDED and self.store.cancel_requested(job.job_id):
            job.state, job.error = CANCELLED, None  # asked for while it published
        if job.state != SUCCEEDED:
            kind.discard(run)
        try:
            finished = retrying(lambda: self.store.finish(job), SAVE_RETRY_SECONDS)
        except SQLAlchemyError:
            log.error(
                "job %s could not be recorded as %s; it will read as lost", job.job_id, job.state
            )
            finished = False
        if not finished and job.state == SUCCEEDED:
            kind.discard(run)  # found lost meanwhile (or never recorded): nothing stays
        self.files.discard(run.caller, job.job_id)  # whatever it left unfinished

    def _runner_for(self, job: Job) -> Runner:
        """Spark jobs are driven from here; a small file is scored here too, in a thread
        (the model is already loaded in this process; a clean process would load it again,
        seconds for a file of a few hundred rows); the rest where jobs run."""
        if job.engine == SPARK:
            return self.runners[SPARK]
        if self._inline(job.options.get("source_bytes")):
            return self.runners[INLINE]
        return self.runners[LOCAL]

    def _inline(self, size: int | None) -> bool:
        """Whether a file of ``size`` bytes is scored in a thread of this process."""
        return size is not None and size <= self.inline_bytes and INLINE in self.runners

    def _kind(self, raw: object) -> JobKind:
        name = raw or SCORE
        if not isinstance(name, str) or name not in self.kinds:
            known = ", ".join(sorted(self.kinds))
            raise InvalidInput(f"Unknown job kind. Choose one of: {known}.")
        return self.kinds[name]

    def health(self) -> dict[str, int]:
        return self.store.count_all()

    def counts(self) -> dict[tuple[str, str], int]:
        return self.store.count_by_kind_and_state()


def _work(kind: JobKind, run: JobRun) -> tuple[str, dict[str, Any] | None]:
    """How the work ended: its final state and, for a failure, the error in words."""
    try:
        kind.run(run)
    except JobCancelled:
        return CANCELLED, None
    except ConsoleError as error:
        if run.cancelled.is_set():  # Spark reports an interrupted job as failed
            return CANCELLED, None
        return FAILED, error.to_dict()
    except Exception:  # any failure must end in a state a person can read
        log.exception("job %s failed", run.job.job_id)
        return FAILED, scoring_job_broke().to_dict()
    return SUCCEEDED, None


@contextlib.contextmanager
def _database() -> Iterator[None]:
    """The job database busy or away: said in words (503), never a 500."""
    try:
        yield
    except SQLAlchemyError as error:
        log.error("job database unavailable: %s", type(error).__name__)
        raise job_database_unavailable() from None


def _request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput(
            'Send a JSON object: {"kind": "score", "source": "upload:<file id>", ...}.',
            hint="See docs/api.md for each kind's fields.",
        )
    return body


def _quietly(prepare: Callable[[], None]) -> None:
    """Getting ready is a head start, not the job: a problem shows when the job starts."""
    try:
        prepare()
    except Exception:
        log.debug("a runner could not get ready ahead of a job", exc_info=True)
