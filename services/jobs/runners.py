"""Where a job runs. Each runner is handed a job id and its caller sealed for that job, and
runs ``JobService.execute`` somewhere:

- ``ProcessRunner``: a clean process on this server, one per job, started from
  multiprocessing's fork server, never forked from the threaded web worker. A web worker runs
  many threads, and any of them may be inside SQLite (the job and audit databases, an
  embedded registry) at the moment another forks; the child would inherit SQLite's mutexes
  held by threads it does not have and block for ever on its first query. The fork server is
  a process with no other threads that has imported what a job needs.
- ``CeleryRunner``: a Celery worker, through Redis (REDIS_URL), possibly on another machine
  that shares APP_DATA_DIR and the job database.
- ``ThreadRunner``: a thread of this process, for work done elsewhere (Spark: this process
  only drives the cluster through Spark Connect) and for small files (the model is already
  loaded here; a clean process would spend seconds loading it again).

Whatever the runner, the job's record says how it goes; a runner only starts jobs and, where
it can see its workers die, fails their jobs at once instead of when their heartbeat is found
missing.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from services.errors import jobs_unavailable
from services.jobs.record import CELERY, PROCESS, Job, job_lost
from services.jobs.store import JobStore
from services.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

Execute = Callable[[str, str, str], None]  # job id, sealed caller, runner name
BuildServices = Callable[..., Any]  # services.wiring.build_services
TASK = "model_console.run_job"
CANCEL_GRACE_SECONDS = 10  # a job still running this long after Cancel is stopped hard
WATCH_SECONDS = 1.0

FORK_SERVER_PRELOAD = ["services.wiring", "mlflow.pyfunc", "pyarrow.parquet"]
# Imported by the fork server too when this process has imported them (its registry, its
# models' libraries), so a job does not spend seconds importing them again.
PRELOAD_IF_USED = (
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.sklearn",
    "sklearn",
    "xgboost",
    "lightgbm",
    "catboost",
    "torch",
    "tensorflow",
)
AFTER_IMPORTS = "services.jobs.job_server_preload"  # last: it needs MLflow imported
_preload_once = threading.Lock()
_preloaded = False


class Runner(Protocol):
    name: str

    def start(self, job: Job, sealed: str) -> None:
        """Start the job (or queue it); raises if it cannot be handed over."""

    def forget(self, job: Job) -> None:
        """A queued job was cancelled: drop it where the runner can."""


class ThreadRunner:
    def __init__(self, execute: Execute, name: str = "thread") -> None:
        self.execute = execute
        self.name = name

    def start(self, job: Job, sealed: str) -> None:
        threading.Thread(
            target=self.execute,
            args=(job.job_id, sealed, self.name),
            name=f"job-{job.job_id[:8]}",
            daemon=True,
        ).start()

    def forget(self, job: Job) -> None:
        return None


class ProcessRunner:
    """One clean process per job (see the module's docstring), watched from this process: a
    process that ends without ending its job (killed, out of memory) fails the job at once,
    and a job that ignores Cancel for ``CANCEL_GRACE_SECONDS`` (one long ``predict`` call)
    is stopped hard."""

    name = PROCESS

    def __init__(self, settings: Settings, store: JobStore, build: BuildServices) -> None:
        self.settings = settings
        self.store = store
        self.build = build  # module-level, so it travels to the child by name

    def start(self, job: Job, sealed: str) -> None:
        """The process is started by its watcher's thread: the first job of a worker whose
        fork server is not running yet waits seconds for its imports, and the request that
        submitted the job does not wait with it (the job reads as queued meanwhile)."""
        preload_fork_server()
        process = multiprocessing.get_context("forkserver").Process(
            target=run_in_clean_process,
            args=(self.build, self.settings, job.job_id, sealed),
            name=f"model-console-job-{job.job_id[:8]}",
            daemon=False,
        )
        threading.Thread(
            target=self._start_and_watch, args=(process, job.job_id), name="job-watch", daemon=True
        ).start()

    def forget(self, job: Job) -> None:
        return None  # its process finds it cancelled and ends

    def warm_up(self) -> None:
        """Start the fork server now, so the first job does not wait for its imports."""
        preload_fork_server()
        from multiprocessing import forkserver

        forkserver.ensure_running()

    def _start_and_watch(self, process: Any, job_id: str) -> None:
        try:
            process.start()
        except Exception:
            log.exception("job %s: its process could not be started", job_id)
            with contextlib.suppress(Exception):
                self.store.fail_if_running(job_id, jobs_unavailable().to_dict())
            return
        self._watch(process, job_id)

    def _watch(self, process: Any, job_id: str) -> None:
        asked = None
        while process.is_alive():
            process.join(WATCH_SECONDS)
            with contextlib.suppress(Exception):  # a busy database: look again next time
                if asked is None and self.store.cancel_requested(job_id):
                    asked = time.monotonic()
            if asked is not None and time.monotonic() - asked > CANCEL_GRACE_SECONDS:
                process.kill()
        with contextlib.suppress(Exception):
            if asked is not None:
                self.store.cancel_if_running(job_id)
            else:
                self.store.fail_if_running(job_id, job_lost())


def run_in_clean_process(
    build: BuildServices, settings: Settings, job_id: str, sealed: str
) -> None:
    """A job's own process: the console's services built from its settings, the job run,
    and its audit record stored before the process ends."""
    from cachelib import SimpleCache

    services = build(settings, SimpleCache())
    try:
        services.jobs.execute(job_id, sealed, ProcessRunner.name)
    finally:
        services.audit.close()


def preload_fork_server() -> None:
    """Once per process, before the fork server starts: what every job imports."""
    global _preloaded
    with _preload_once:
        if not _preloaded:
            used = [name for name in PRELOAD_IF_USED if name in sys.modules]
            multiprocessing.set_forkserver_preload([*FORK_SERVER_PRELOAD, *used, AFTER_IMPORTS])
            _preloaded = True


class CeleryRunner:
    """Jobs through Redis to ``celery -A app:celery_app worker`` processes, which build the
    same console from the same environment."""

    name = CELERY

    def __init__(self, settings: Settings) -> None:
        self.celery = celery_for(settings)

    def serve(
        self, execute: Execute, context: Callable[[], contextlib.AbstractContextManager[Any]]
    ) -> None:
        """Make this process able to run jobs when it is a worker (``context``: what the
        services need around them, the Flask app's context)."""

        @self.celery.task(name=TASK)
        def run_job(job_id: str, sealed: str) -> None:
            with context():
                execute(job_id, sealed, self.name)

    def start(self, job: Job, sealed: str) -> None:
        self.celery.send_task(TASK, args=[job.job_id, sealed], task_id=job.job_id)

    def forget(self, job: Job) -> None:
        with contextlib.suppress(Exception):  # the worker also finds it cancelled
            self.celery.control.revoke(job.job_id)


def celery_for(settings: Settings) -> Celery:
    from celery import Celery  # imported only when REDIS_URL is set

    celery = Celery("model_console", broker=settings.redis_url, backend=settings.redis_url)
    celery.conf.update(
        result_expires=settings.files_max_age_seconds,
        worker_prefetch_multiplier=1,  # a long job must not hold others back in one worker
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,  # the job's record is its result
    )
    return celery
