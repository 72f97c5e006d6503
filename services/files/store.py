"""Files users upload and results they download, kept per user under $APP_DATA_DIR.

A file is found by an unguessable id *and* the caller's own area, so an id from another user
leads nowhere. Uploads are streamed to disk in blocks (a 1 GB file never sits in memory);
results are written under a temporary name and appear only when complete, so a cancelled or
crashed job leaves nothing to download (its unfinished file is removed when the job is
cancelled, or once no one has written to it for ``partial_max_age_seconds``). Each user's
area holds at most ``quota_bytes``. Files older than ``max_age_seconds`` are removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from services.access.caller import Caller
from services.errors import ConsoleError, FileGone, PayloadTooLarge

BLOCK = 1024 * 1024
_ID = re.compile(r"[0-9a-f]{32}")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MARK_NAME = re.compile(r"[0-9a-z-]{1,80}")


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    filename: str
    size: int


def _display_name(filename: str) -> str:
    stem = _UNSAFE_NAME.sub("_", Path(filename or "upload.csv").name)[:120]
    return stem if stem.strip(". ") else "upload.csv"  # "..", "...": names only as paths


def result_name(original: str, extension: str = ".csv") -> str:
    """``churn.csv`` → ``churn_with_predictions.csv`` (``.parquet`` with that extension)."""
    stem = Path(_display_name(original)).stem
    return f"{stem}_with_predictions{extension}"


def human_size(size: int) -> str:
    """1536 → "1.5 KB"; 10485760 → "10 MB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


class QuotaExceeded(PayloadTooLarge):
    error_code = "QUOTA_EXCEEDED"
    http_status = 507
    title = "Your files area is full"


def quota_full(quota: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"Your files would take more than the {human_size(quota)} each person may keep here.",
        hint="Download what you need; files go after FILES_MAX_AGE_HOURS. The administrator "
        "can raise USER_QUOTA_MB.",
    )


class StorageFull(ConsoleError):
    error_code = "STORAGE_FULL"
    http_status = 507
    title = "The server's disk is full"


def storage_full() -> StorageFull:
    return StorageFull(
        "The server's disk is full, so the file could not be written; nothing was kept.",
        hint="Try again later. The administrator should free space under APP_DATA_DIR.",
    )


def is_disk_full(error: OSError) -> bool:
    """ENOSPC or a quota, also as pyarrow says it (an OSError without an errno)."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(error)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {human_size(limit)} this console accepts.",
        hint="Split it into smaller files, or ask the administrator to raise UPLOAD_LIMIT_MB.",
    )


class UserFiles:
    def __init__(
        self,
        root: Path,
        max_age_seconds: int = 24 * 3600,
        *,
        quota_bytes: int | None = None,
        partial_max_age_seconds: int = 3600,
    ) -> None:
        self.root = root
        self.max_age_seconds = max_age_seconds
        self.quota_bytes = quota_bytes
        self.partial_max_age_seconds = partial_max_age_seconds

    def _area(self, caller: Caller) -> Path:
        digest = hashlib.sha256(caller.user.encode()).hexdigest()[:24]
        area = self.root / digest
        area.mkdir(parents=True, exist_ok=True)
        return area

    def save_stream(
        self,
        caller: Caller,
        filename: str,
        stream: IO[bytes],
        limit: int,
        refusal: Callable[[int], PayloadTooLarge] = too_large,
    ) -> StoredFile:
        """Copy a request body to disk block by block, refusing it (``refusal(limit)``) past
        ``limit`` bytes, and past what is left of the caller's quota."""
        room = self.room(caller)
        with self.writing(caller, filename) as (stored_id, handle):
            written = 0
            while block := stream.read(BLOCK):
                written += len(block)
                if written > limit:
                    raise refusal(limit)
                if room is not None and written > room:
                    raise quota_full(self.quota_bytes or 0)
                handle.write(block)
        return self.describe(caller, stored_id)

    def usage(self, caller: Caller) -> int:
        """Bytes the caller's area holds, unfinished files included."""
        total = 0
        for path in self._area(caller).iterdir():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def room(self, caller: Caller) -> int | None:
        """Bytes the caller may still add (None: no quota)."""
        return None if self.quota_bytes is None else self.quota_bytes - self.usage(caller)

    def check_room(self, caller: Caller) -> None:
        """Refuse work that would write into a full area."""
        room = self.room(caller)
        if room is not None and room <= 0:
            raise quota_full(self.quota_bytes or 0)

    def remove(self, caller: Caller, file_id: str) -> None:
        """The caller's file, gone now rather than when it expires."""
        path = self.path(caller, file_id)
        path.with_suffix(".name").unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def writing(
        self, caller: Caller, filename: str, owner: str = "request"
    ) -> Iterator[tuple[str, IO[bytes]]]:
        """A new file, visible under its id only once the block finishes without error.
        ``owner`` (a job's name) lets ``discard`` remove it if that job is stopped."""
        self.remove_expired()
        file_id = uuid.uuid4().hex
        area = self._area(caller)
        partial, name = area / f"{file_id}.{_safe_mark(owner)}.partial", area / f"{file_id}.name"
        try:
            with open(partial, "wb") as handle:
                yield file_id, handle
            name.write_text(_display_name(filename))
            os.replace(partial, area / f"{file_id}.data")
        except OSError as error:
            name.unlink(missing_ok=True)
            if is_disk_full(error):
                raise storage_full() from None
            raise
        finally:
            partial.unlink(missing_ok=True)

    def discard(self, caller: Caller, owner: str) -> int:
        """Remove the unfinished files ``owner`` was writing (a job that was cancelled or
        killed cannot clean up after itself); how many were removed."""
        removed = 0
        for partial in self._area(caller).glob(f"*.{_safe_mark(owner)}.partial"):
            partial.unlink(missing_ok=True)
            removed += 1
        return removed

    def marks(self, caller: Caller, kind: str) -> list[tuple[str, float]]:
        """Every mark of this kind in the caller's area: its name and when it was set."""
        found = []
        for path in self._area(caller).glob(f"*.{kind}"):
            with contextlib.suppress(FileNotFoundError):
                found.append((path.stem, path.stat().st_mtime))
        return found

    def path(self, caller: Caller, file_id: str) -> Path:
        """The caller's own file with this id, or a clear error."""
        if not isinstance(file_id, str) or not _ID.fullmatch(file_id):
            raise self._gone()
        path = self._area(caller) / f"{file_id}.data"
        if not path.exists():
            raise self._gone()
        return path

    @staticmethod
    def _gone() -> FileGone:
        return FileGone("That file is no longer available.", hint="Upload it again, then retry.")

    def describe(self, caller: Caller, file_id: str) -> StoredFile:
        path = self.path(caller, file_id)
        name = path.with_suffix(".name").read_text()
        return StoredFile(file_id, name, path.stat().st_size)

    def mark(self, caller: Caller, name: str, kind: str) -> None:
        """An empty file in the caller's own area whose existence (and time) says something
        happened (a job reached its end, a job made progress). Expires with the files."""
        self._mark_path(caller, name, kind).touch()

    def has_mark(self, caller: Caller, name: str, kind: str) -> bool:
        return self._mark_path(caller, name, kind).exists()

    def mark_time(self, caller: Caller, name: str, kind: str) -> float | None:
        """When the mark was last set, by the clock of whoever set it; None if never."""
        with contextlib.suppress(FileNotFoundError):
            return self._mark_path(caller, name, kind).stat().st_mtime
        return None

    def _mark_path(self, caller: Caller, name: str, kind: str) -> Path:
        if not kind.isalpha():
            raise ValueError(f"not a mark: {kind!r}")  # callers pass checked names
        return self._area(caller) / f"{_safe_mark(name)}.{kind}"

    def remove_expired(self) -> None:
        """Files past their age; unfinished files nobody has written to for a while (a
        killed job's)."""
        now = time.time()
        for path in self.root.glob("*/*"):
            limit = (
                self.partial_max_age_seconds if path.suffix == ".partial" else self.max_age_seconds
            )
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < now - limit:
                    path.unlink()


def _safe_mark(name: str) -> str:
    if not _MARK_NAME.fullmatch(name or ""):
        raise ValueError(f"not a mark name: {name!r}")  # callers pass checked names
    return name
