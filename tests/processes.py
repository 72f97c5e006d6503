"""Start the console (or another server) as a real process, wait for it, stop it whole."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import psutil
import requests

from tests.waiting import exited, until

PROJECT = Path(__file__).resolve().parent.parent
# What a deployment sets that the test process may have in its own environment.
DEPLOYMENT_VARIABLES = (
    "MLFLOW_",
    "APP_",
    "DATABRICKS_",
    "MODEL_",
    "REDIS_URL",
    "JOB_",
    "PORT",
    "HOST",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "WEB_CONCURRENCY",
)


def clean_environment(**settings: object) -> dict[str, str]:
    """This process's environment without any deployment setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DEPLOYMENT_VARIABLES)}
    env.update({name: str(value) for name, value in settings.items()})
    return env


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> requests.Response:
    """The first answer from ``url``; fails as soon as the process exits."""
    (answer,) = until(
        lambda: _answer(url), seconds, msg=f"{url} answering", gone=exited(process, "server")
    )
    return answer


def _answer(url: str) -> tuple[requests.Response] | None:
    """The answer in a tuple (a response is falsy when its status is an error), or None."""
    try:
        return (requests.get(url, timeout=10),)
    except (requests.ConnectionError, requests.Timeout):
        return None


def stop_process_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:  # stopped already, with everything it started
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # a worker still booting ignores SIGTERM
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@contextlib.contextmanager
def running(
    command: list[str], env: Mapping[str, str], log: Path, cwd: Path = PROJECT
) -> Iterator[subprocess.Popen]:
    """``command`` in its own process group, output to ``log``; stopped (all of it) at exit."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                stop_process_group(process)


def job_processes(parent: psutil.Process | None = None) -> list[psutil.Process]:
    """The CSV jobs running for ``parent`` (this process by default): children of its
    multiprocessing fork server (see callbacks/job_process.py), which only jobs have."""
    servers = job_servers(parent or psutil.Process())
    return [job for server in servers for job in _alive(server.children())]


def job_servers(parent: psutil.Process, recursive: bool = False) -> list[psutil.Process]:
    """``parent``'s job servers (multiprocessing's fork servers): its own children, or with
    ``recursive`` any descendant (a gunicorn worker's, under its master)."""
    children = parent.children(recursive=recursive)
    return [p for p in children if "multiprocessing.forkserver" in " ".join(_command_line(p))]


def _command_line(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
