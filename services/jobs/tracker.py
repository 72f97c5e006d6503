"""What a scoring job leaves behind for the page that waits on it.

A job marks its progress after every chunk and its end whatever the outcome, as empty files
in the caller's own area (shared by every process and machine that shares APP_DATA_DIR). A
job stopped without an end mark was killed from outside (out of memory, a lost worker); a
progress mark that stops changing means the job has fallen silent.
"""

from __future__ import annotations

import time

from services.access.caller import Caller
from services.files.store import UserFiles

ENDED, PROGRESSED, QUEUED = "ended", "progressed", "queued"


class JobTracker:
    def __init__(self, files: UserFiles, live_seconds: int) -> None:
        self.files = files
        self.live_seconds = live_seconds  # a job silent longer than this is not counted

    def queued(self, caller: Caller, job: str) -> None:
        """Called in the web request that starts a job, before any process is made."""
        self.files.mark(caller, job, QUEUED)

    def active(self, caller: Caller) -> int:
        """The caller's jobs that have started (or are waiting to) and not ended, and are
        not long silent (a killed job never marks its end)."""
        ended = {name for name, _ in self.files.marks(caller, ENDED)}
        latest: dict[str, float] = {}
        for kind in (QUEUED, PROGRESSED):
            for name, when in self.files.marks(caller, kind):
                latest[name] = max(latest.get(name, 0.0), when)
        now = time.time()
        return sum(
            1
            for name, when in latest.items()
            if name not in ended and now - when < self.live_seconds
        )

    def stop(self, caller: Caller, job: str) -> None:
        """A job cancelled (or found killed): it is over, and its unfinished files go."""
        self.files.discard(caller, job)
        self.ended(caller, job)

    def progressed(self, caller: Caller, job: str) -> None:
        self.files.mark(caller, job, PROGRESSED)

    def ended(self, caller: Caller, job: str) -> None:
        """Called by a job on its way out, whatever the outcome."""
        self.files.mark(caller, job, ENDED)

    def has_ended(self, caller: Caller, job: str) -> bool:
        """False for a job that stopped without reaching its end: its process was killed,
        so nothing else will ever say what happened."""
        return self.files.has_mark(caller, job, ENDED)

    def progress_stamp(self, caller: Caller, job: str) -> float | None:
        """A value that changes whenever the job reports progress (None before it does).
        Compared with itself, never with this machine's clock: the worker may run on
        another machine."""
        return self.files.mark_time(caller, job, PROGRESSED)
