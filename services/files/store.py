"""Files users upload and results they download, kept per user under $APP_DATA_DIR.

A file is found by an unguessable id *and* the caller's own area, so an id from another user
leads nowhere. Uploads are streamed to disk in blocks (a 1 GB file never sits in memory);
results are written under a temporary name and appear only when complete, so a cancelled or
crashed job leaves nothing to download. Files older than ``max_age_seconds`` are removed.
"""

from __future__ import annotations

import contextlib
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
from services.errors import FileGone, PayloadTooLarge

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
    stem = Path(filename or "upload.csv").name
    return _UNSAFE_NAME.sub("_", stem)[:120] or "upload.csv"


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


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {human_size(limit)} this console accepts.",
        hint="Split it into smaller files, or ask the administrator to raise UPLOAD_LIMIT_MB.",
    )


class UserFiles:
    def __init__(self, root: Path, max_age_seconds: int = 24 * 3600) -> None:
        self.root = root
        self.max_age_seconds = max_age_seconds

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
        ``limit`` bytes."""
        with self.writing(caller, filename) as (stored_id, handle):
            written = 0
            while block := stream.read(BLOCK):
                written += len(block)
                if written > limit:
                    raise refusal(limit)
                handle.write(block)
        return self.describe(caller, stored_id)

    def remove(self, caller: Caller, file_id: str) -> None:
        """The caller's file, gone now rather than when it expires."""
        path = self.path(caller, file_id)
        path.with_suffix(".name").unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def writing(self, caller: Caller, filename: str) -> Iterator[tuple[str, IO[bytes]]]:
        """A new file, visible under its id only once the block finishes without error."""
        self.remove_expired()
        file_id = uuid.uuid4().hex
        area = self._area(caller)
        partial = area / f"{file_id}.partial"
        try:
            with open(partial, "wb") as handle:
                yield file_id, handle
            (area / f"{file_id}.name").write_text(_display_name(filename))
            os.replace(partial, area / f"{file_id}.data")
        finally:
            partial.unlink(missing_ok=True)

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
        if not _MARK_NAME.fullmatch(name or "") or not kind.isalpha():
            raise ValueError(f"not a mark: {name!r} {kind!r}")  # callers pass checked names
        return self._area(caller) / f"{name}.{kind}"

    def remove_expired(self) -> None:
        cutoff = time.time() - self.max_age_seconds
        for path in self.root.glob("*/*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
