"""Start a server as its own process group on loopback, wait until it answers, stop it for sure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
from bigcsv import upload
from rss import MB, settled_mb

VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, where uvicorn lives
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path


@dataclass(frozen=True)
class Launch:
    """How to start a server: its command, the port it will listen on, its environment and
    working folder."""

    command: list[str]
    port: int
    env: dict[str, str]
    cwd: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(**overrides: str) -> dict[str, str]:
    """Our environment without MLflow settings (the app must use its embedded registry)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def start_server(
    stack: contextlib.ExitStack,
    name: str,
    command: list[str],
    *,
    port: int,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
) -> Server:
    """Start ``command`` in a new session; ``stack`` stops its whole process group on exit."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path)
    stack.callback(stop_server, server)
    return server


def start_launch(stack: contextlib.ExitStack, name: str, launch: Launch, log_dir: Path) -> Server:
    """``start_server`` of what ``launch`` says."""
    return start_server(
        stack,
        name,
        launch.command,
        port=launch.port,
        env=launch.env,
        cwd=launch.cwd,
        log_dir=log_dir,
    )


def stop_server(server: Server) -> None:
    """SIGTERM the group, wait, then SIGKILL whatever is left of it (workers included)."""
    group = server.process.pid  # a session leader's pid is its process group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{server.name} still running {STOP_TIMEOUT_S:.0f} s after SIGTERM: killing it")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    server.process.wait(timeout=STOP_TIMEOUT_S)


def log_tail(server: Server, lines: int = 40) -> str:
    text = server.log_path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def wait_ready(server: Server, path: str, interval: float = 0.2) -> float:
    """Seconds until GET ``path`` answers 200 (polled every ``interval`` s); fails at once if
    the server exits."""
    return wait_answer(server, lambda: requests.get(server.base_url + path, timeout=2), interval)


def wait_answer(
    server: Server, ask: Callable[[], requests.Response], interval: float = 0.2
) -> float:
    """Seconds until ``ask()`` answers 200 (asked every ``interval`` s); fails at once if the
    server exits."""
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"{server.name} exited with code {code}:\n{log_tail(server)}")
        with contextlib.suppress(requests.RequestException):
            if ask().status_code == 200:
                return time.monotonic() - started
        time.sleep(interval)
    raise TimeoutError(f"{server.name} not ready in {READY_TIMEOUT_S:.0f} s:\n{log_tail(server)}")


JOB_SERVER = "multiprocessing.forkserver"
JOB_SERVERS_TIMEOUT_S = 120.0


def job_servers(server: Server) -> list[psutil.Process]:
    """The job servers (multiprocessing's fork servers) in the server's process tree."""
    found = []
    for process in psutil.Process(server.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if JOB_SERVER in " ".join(process.cmdline()):
                found.append(process)
    return found


def start_job_servers(server: Server, workers: int, folder: Path) -> None:
    """Each of the ``workers`` web workers starts its job server when a file too big to be
    scored in the web process arrives: such uploads, each on a connection of its own, until
    all run and their imports are done. Memory measured after this holds them, and a later
    upload does not count one as growth."""
    from services.registry.demo import IRIS_FEATURES  # the bench's path holds the project now
    from services.settings import read_settings

    sample = folder / "job-servers.csv"
    row = b"5.1,3.5,1.4,0.2\n"
    rows = read_settings({})["inline_job_bytes"] // len(row) + 1
    sample.write_bytes(",".join(IRIS_FEATURES).encode() + b"\n" + row * rows)
    deadline = time.monotonic() + JOB_SERVERS_TIMEOUT_S
    while len(job_servers(server)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name}: {len(job_servers(server))} of {workers} job servers"
            )
        with requests.Session() as session:  # a connection of its own: maybe another worker
            upload(session, server.base_url, sample)
        time.sleep(0.3)
    settled_mb(lambda: sorted(p.memory_info().rss / MB for p in job_servers(server)), 60.0)
    sample.unlink()
