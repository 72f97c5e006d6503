"""The marks in APP_DATA_DIR that say whether the embedded registry is seeded: read without
MLflow (a seeded start never imports it in gunicorn's master), written last when seeding
ends, after the database is on disk."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

SEED_RECIPE = "3"  # 2: class labels on the classifiers; 3: training references
SEEDED_MARK = "demo-seeded"
SEEDING_MARK = "demo-seeding"  # a seeding process was started here and has not succeeded
SEED_LOCK = "seed.lock"


def demo_seeded(tracking_uri: str, data_dir: Path) -> bool:
    """The mark says this very registry file holds the current demo models (no MLflow)."""
    mark = _seeded_mark(tracking_uri)
    return mark is not None and mark == _read(data_dir / SEEDED_MARK)


def _seeded_mark(tracking_uri: str) -> str | None:
    """What the mark of a seeded registry says: this recipe, in this very database file (a
    registry.db deleted or put back from elsewhere is another file, and is asked again)."""
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    try:
        found = database.stat()
    except OSError:
        return None
    return f"{SEED_RECIPE} {tracking_uri} {found.st_dev}:{found.st_ino}"


def mark_seeded(tracking_uri: str, data_dir: Path) -> None:
    if (mark := _seeded_mark(tracking_uri)) is not None:
        with contextlib.suppress(OSError):  # no mark: the next start asks MLflow again
            # the database on disk before its mark (the seeding process does not wait for it)
            _synced(Path(tracking_uri.removeprefix("sqlite:///")))
            (data_dir / SEEDED_MARK).write_text(mark)
            _synced(data_dir / SEEDED_MARK)
    with contextlib.suppress(OSError):  # seeded, whoever had started it
        (data_dir / SEEDING_MARK).unlink()


def _synced(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
