"""Files users upload and results they download, kept per user under $APP_DATA_DIR.

A file is found by an unguessable id *and* the caller's own area, so an id from another
session or user leads nowhere. Old files are removed after ``max_age_seconds``.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from services.errors import InvalidInput
from services.identity import Caller

_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    filename: str
    size: int


def _display_name(filename: str) -> str:
    stem = Path(filename or "upload.csv").name
    return _UNSAFE_NAME.sub("_", stem)[:120] or "upload.csv"


def result_name(original: str) -> str:
    """``churn.csv`` → ``churn_with_predictions.csv``."""
    stem = Path(_display_name(original)).stem
    return f"{stem}_with_predictions.csv"


class UserFiles:
    def __init__(self, root: Path, max_age_seconds: int = 24 * 3600) -> None:
        self.root = root
        self.max_age_seconds = max_age_seconds

    def _area(self, caller: Caller) -> Path:
        digest = hashlib.sha256(caller.user.encode()).hexdigest()[:24]
        area = self.root / digest
        area.mkdir(parents=True, exist_ok=True)
        return area

    def save(self, caller: Caller, filename: str, data: bytes) -> StoredFile:
        self.remove_expired()
        file_id = uuid.uuid4().hex
        stored = StoredFile(file_id, _display_name(filename), len(data))
        area = self._area(caller)
        (area / f"{file_id}.data").write_bytes(data)
        (area / f"{file_id}.name").write_text(stored.filename)
        return stored

    def path(self, caller: Caller, file_id: str) -> Path:
        """The caller's own file with this id, or a clear error."""
        path = self._area(caller) / f"{file_id}.data"
        if not _ID.match(file_id or "") or not path.exists():
            raise InvalidInput(
                "That file is no longer available.", hint="Upload it again, then retry."
            )
        return path

    def read(self, caller: Caller, file_id: str) -> tuple[StoredFile, bytes]:
        path = self.path(caller, file_id)
        data = path.read_bytes()
        return StoredFile(file_id, path.with_suffix(".name").read_text(), len(data)), data

    def remove_expired(self) -> None:
        cutoff = time.time() - self.max_age_seconds
        for path in self.root.glob("*/*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass
