"""Run one benchmark script as a process, note every process it starts, and stop all of it at
a deadline: a benchmark that hangs or leaves a server running fails its test instead of the
next one."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.processes import PROJECT

WATCH_S = 0.5  # how often the script's descendants are listed
UNWIND_S = 60.0  # after SIGTERM at the deadline: the script stops its servers on the way out
GONE_S = 15.0  # after the script exits: what it started has this long to go (a server's stop)


@dataclass(frozen=True)
class Tiny:
    """One benchmark at a size that runs in seconds. ``arguments`` follow the interpreter;
    ``{out}`` in them is the run's own folder and ``{spark}`` a Spark Connect address.
    ``headers``: the cells of each table header the report must print, in order."""

    name: str
    arguments: tuple[str, ...]
    headers: tuple[tuple[str, ...], ...]
    timeout_s: float = 300.0
    browser: bool = False  # drives headless Chromium

    @property
    def needs_spark(self) -> bool:
        return any("{spark}" in argument for argument in self.arguments)


@dataclass
class Finished:
    command: list[str]
    code: int | None  # None: still running at the deadline, and stopped
    output: str
    seconds: float
    left_running: list[str] = field(default_factory=list)

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def header_pattern(cells: tuple[str, ...]) -> re.Pattern[str]:
    """One line holding ``cells`` in order, as a text table (padded with spaces), a markdown
    table (between pipes) or a " | "-joined row prints them."""
    between = r"[\s|]+"
    return re.compile(r"^[\s|]*" + between.join(map(re.escape, cells)) + r"[\s|]*$", re.M)


def run_tiny(
    tiny: Tiny,
    out: Path,
    spark: str = "",
    gone_s: float = GONE_S,
    abandon: threading.Event | None = None,
) -> Finished:
    """``tiny`` with ``BENCH_OUT_DIR`` at ``out`` (its servers' logs and reports go there);
    what it started must be gone ``gone_s`` after it exits. Setting ``abandon`` stops it as
    the deadline would (the test session is ending, say on Ctrl-C)."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        *(a.format(out=out, spark=spark) for a in tiny.arguments),
    ]
    env = {**os.environ, "BENCH_OUT_DIR": str(out), "PYTHONUNBUFFERED": "1"}
    log = out / "output.txt"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen = _watch(process, started + tiny.timeout_s, abandon or threading.Event())
    timed_out = process.poll() is None
    if timed_out:
        _stop(process)
    seconds = time.monotonic() - started
    left = _left_running(seen, gone_s)
    code = None if timed_out else process.returncode
    return Finished(command, code, log.read_text(errors="replace"), seconds, left)


def _watch(
    process: subprocess.Popen[bytes], deadline: float, abandon: threading.Event
) -> dict[int, psutil.Process]:
    """Every descendant seen while ``process`` runs (servers start sessions of their own, so
    only the parent links find them), until it exits, the deadline passes or it is
    abandoned."""
    seen: dict[int, psutil.Process] = {}
    root = psutil.Process(process.pid)
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                seen.setdefault(child.pid, child)
        if abandon.wait(WATCH_S):
            break
    return seen


def _stop(process: subprocess.Popen[bytes]) -> None:
    """At the deadline: SIGTERM (the scripts unwind and stop their servers), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=UNWIND_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=UNWIND_S)


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie (an orphan's zombie waits for a reaper that may never come)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _left_running(seen: dict[int, psutil.Process], gone_s: float) -> list[str]:
    """What the script started and did not stop; each is killed here, so that one broken
    benchmark does not leave servers behind for the rest of the suite."""
    deadline = time.monotonic() + gone_s
    while time.monotonic() < deadline and any(map(_alive, seen.values())):
        time.sleep(WATCH_S)
    left = []
    for process in filter(_alive, seen.values()):
        with contextlib.suppress(psutil.Error):
            left.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
            process.kill()
    return left
