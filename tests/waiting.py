"""One way for a test to wait: ask again until the answer comes, give up at a deadline with a
message that says what was awaited, or stop at once when what should answer has died."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(
    condition: Callable[[], T],
    timeout: float,
    poll: float = 0.1,
    msg: str = "",
    gone: Callable[[], str | None] | None = None,
) -> T:
    """The first truthy answer of ``condition``, asked every ``poll`` seconds. After
    ``timeout`` seconds an AssertionError names ``msg`` (or the condition) and its last
    answer; whenever ``gone`` returns a reason (a server exited), that reason at once."""
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if gone is not None and (reason := gone()):
            raise AssertionError(reason)
        if time.monotonic() >= deadline:
            what = msg or getattr(condition, "__name__", "the condition")
            raise AssertionError(f"{what}: not met in {timeout:g} s (last answer {answer!r})")
        time.sleep(poll)


def exited(process: subprocess.Popen, what: str) -> Callable[[], str | None]:
    """For ``gone``: a reason once ``process`` has exited."""

    def reason() -> str | None:
        code = process.poll()
        return None if code is None else f"{what} exited with {code}"

    return reason
