"""What a scoring job leaves behind for the page that waits on it.

A job marks its progress after every chunk and its end whatever the outcome, as empty files
in the caller's own area (shared by every process and machine that shares APP_DATA_DIR). A
job stopped without an end mark was killed from outside (out of memory, a lost worker); a
progress mark that stops changing means the job has fallen silent.
"""

from __future__ import annotations

from services.access.caller import Caller
from services.files.store import UserFiles

ENDED, PROGRESSED = "ended", "progressed"


class JobTracker:
    def __init__(self, files: UserFiles) -> None:
        self.files = files

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
