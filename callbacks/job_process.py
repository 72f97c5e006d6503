"""CSV jobs on this server start in a clean process, never as a fork of the web worker.

A web worker runs many threads, and any of them may be inside SQLite (the job store, the audit
database, an embedded registry) at the moment another forks. The child inherits SQLite's
mutexes as they were, held by threads it does not have, and its first use of SQLite blocks
for ever: a job that never moves and a process nobody reaps. So jobs start from
multiprocessing's fork server, a process with no other threads that has imported what a job
needs and forks one child per job. The child builds its console's services from the
settings it is given and runs the job the way Dash's ``DiskcacheManager`` would, writing
progress and result to the same job store the page polls.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import diskcache
import psutil

from callbacks.background import result_key_of
from services.settings import Settings

FORK_SERVER_PRELOAD = ["callbacks.csv_tab", "mlflow.pyfunc", "pyarrow.parquet"]
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
_preload_once = threading.Lock()
_preloaded = False


class CleanProcessJobs(dash.DiskcacheManager):
    """Dash's job manager for this server, with jobs in clean processes. A job's handle is
    ``pid:start time``, so Cancel never kills a process that merely got a finished job's pid
    again (the fork server reaps its children at once)."""

    def __init__(self, settings: Settings, run_job: Callable[..., Any]) -> None:
        super().__init__(
            diskcache.Cache(str(job_store(settings))), expire=settings.files_max_age_seconds
        )
        self.settings = settings
        self.run_job = run_job  # module-level, so it travels to the child by name

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        preload_fork_server()
        process = multiprocessing.get_context("forkserver").Process(
            target=self.run_job,
            args=(self.settings, key, self._make_progress_key(key), args, dict(context)),
            daemon=False,
        )
        process.start()
        handle = f"{process.pid}:{_started(process.pid)}"
        self.handle.set(result_key_of(handle), key, expire=self.expire)
        return handle

    def terminate_job(self, job: Any) -> None:
        process = _job_process(job)
        self.handle.delete(result_key_of(job))
        if process is None:
            return
        with self.handle.transact():
            for child in _children(process):
                _kill(child)
            _kill(process)

    def terminate_unhealthy_job(self, job: Any) -> bool:
        process = _job_process(job)
        if process is not None and not self.job_running(job):
            self.terminate_job(job)
            return True
        return False

    def job_running(self, job: Any) -> bool:
        """A job that has ended with its result not yet read still counts: Dash asks for the
        result first and then whether the job runs, and a job finishing between the two
        questions would otherwise be taken for cancelled and its result never shown."""
        return self._process_running(job) or self._result_waiting(job)

    def _process_running(self, job: Any) -> bool:
        process = _job_process(job)
        try:
            return process is not None and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False  # it ended between the two questions

    def _result_waiting(self, job: Any) -> bool:
        key = self.handle.get(result_key_of(job))
        return key is not None and self.result_ready(key)


def job_store(settings: Settings) -> Path:
    return settings.app_data_dir / "jobs"


def preload_fork_server() -> None:
    """Once per process, before the fork server starts: what every job imports."""
    global _preloaded
    with _preload_once:
        if not _preloaded:
            used = [name for name in PRELOAD_IF_USED if name in sys.modules]
            multiprocessing.set_forkserver_preload([*FORK_SERVER_PRELOAD, *used])
            _preloaded = True


def run_in_clean_process(
    settings: Settings,
    key: str,
    progress_key: str,
    args: Any,
    context: dict[str, Any],
    job: Callable[..., Any],
) -> None:
    """In the job's process: Dash's own job function (progress, result, errors into the job
    store), around ``job``."""
    manager = dash.DiskcacheManager(diskcache.Cache(str(job_store(settings))))
    manager.make_job_fn(job, progress=True)(key, progress_key, args, context)


def _started(pid: int) -> str:
    try:
        return f"{psutil.Process(pid).create_time():.3f}"
    except psutil.Error:
        return "gone"  # it has already ended; nothing is left to stop


def _job_process(job: Any) -> psutil.Process | None:
    """The job's process, if it is still the one started for the job."""
    pid, _, started = str(job or "").partition(":")
    if not pid.isdigit():
        return None
    try:
        process = psutil.Process(int(pid))
        return process if f"{process.create_time():.3f}" == started else None
    except psutil.Error:
        return None


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    try:
        process.kill()
        process.wait(1)
    except (psutil.Error, psutil.TimeoutExpired):
        pass
