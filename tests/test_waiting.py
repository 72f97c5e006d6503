"""The tests' one waiting helper answers, gives up and stops as a test relies on."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.waiting import exited, until


def test_the_first_truthy_answer_is_returned():
    answers = iter([0, None, "", {"state": "done"}])
    assert until(lambda: next(answers), 5, poll=0.01) == {"state": "done"}


def test_giving_up_names_what_was_awaited_and_its_last_answer():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"job finished: not met in 0.2 s \(last answer 0\)"):
        until(lambda: 0, 0.2, poll=0.05, msg="job finished")
    assert time.monotonic() - started < 2


def test_a_process_that_exits_stops_the_wait_at_once():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    started = time.monotonic()
    with pytest.raises(AssertionError, match="server exited with 3"):
        until(lambda: False, 60, gone=exited(process, "server"))
    assert time.monotonic() - started < 5
