"""The runner of the tiny benchmark runs catches what it is there to catch: a process left
running, a run that hangs, a report without its table."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from tests.bench.runner import Tiny, header_pattern, run_tiny

# Like a benchmark's server: its own session, running while the script works (seconds).
LEAVES_A_SERVER = """
import subprocess, time
child = subprocess.Popen(["sleep", "120"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(2)
"""
HANGS = "import time; print('started', flush=True); time.sleep(120)"


def script(tmp_path: Path, source: str) -> str:
    path = tmp_path / "script.py"
    path.write_text(source)
    return str(path)


def test_a_process_left_running_is_named_and_stopped(tmp_path: Path) -> None:
    tiny = Tiny("leaves", (script(tmp_path, LEAVES_A_SERVER),), (), timeout_s=60)
    done = run_tiny(tiny, tmp_path / "out", gone_s=1)
    child = int(done.output.split()[0])
    assert done.code == 0
    assert [line.split()[:2] for line in done.left_running] == [[str(child), "sleep"]]
    time.sleep(0.5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"


def test_a_run_past_its_deadline_is_stopped(tmp_path: Path) -> None:
    tiny = Tiny("hangs", (script(tmp_path, HANGS),), (), timeout_s=2)
    started = time.monotonic()
    done = run_tiny(tiny, tmp_path / "out")
    assert done.code is None
    assert "started" in done.output
    assert time.monotonic() - started < 30


def test_a_header_is_found_as_a_whole_line_of_a_table() -> None:
    cells = ("case", "median ms", "p90 ms")
    assert header_pattern(cells).search("x\ncase    median ms  p90 ms\n----")
    assert header_pattern(cells).search("| case | median ms | p90 ms |")
    assert header_pattern(cells).search("case | median ms | p90 ms")
    assert not header_pattern(cells).search("the case median ms p90 ms were fine")
    assert not header_pattern(cells).search("case  median ms")
