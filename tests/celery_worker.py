"""A real Redis server and a real Celery worker running the console's CSV jobs.

The worker is started the way docs/deploy.md says to start it in production
(``celery -A app:celery_app worker``), from the project root, configured only through the
environment, so it builds its own console exactly as a deployed worker would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.conftest import free_port
from tests.waiting import until

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 60.0


def _wait_for(ready, what: str, log: Path | None = None) -> None:
    try:
        until(ready, STARTUP_TIMEOUT_SECONDS, poll=0.2, msg=f"{what} started")
    except AssertionError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise RuntimeError(f"{exc}\n{tail}") from exc


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, nothing persisted; yields its URL."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is missing: apt-get install -y redis-server (.ci/run)")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)

        def answers() -> bool:
            with contextlib.suppress(redis.ConnectionError):
                return bool(client.ping())
            return False

        _wait_for(answers, "redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(process)


@contextlib.contextmanager
def running_celery_worker(
    redis_url: str, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """``celery -A app:celery_app worker`` with ``env`` on top of this process's environment."""
    environment = {**os.environ, **env, "REDIS_URL": redis_url}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "app:celery_app",
        "worker",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"test-{free_port()}@%h",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(
            lambda: b" ready." in log.read_bytes() or process.poll() is not None,
            "celery worker",
            log,
        )
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{log.read_text(errors='replace')[-3000:]}")
        yield process
    finally:
        _stop(process)
