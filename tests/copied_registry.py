"""A registry of its own for a test that moves aliases: the session's demo registry copied
(its database; the model files stay where they are, read only), so the registry other tests
read never moves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.registry.seed_marks import mark_seeded
from services.settings import embedded_tracking_uri


def copied_registry(source_dir: Path, target_dir: Path) -> Path:
    """``target_dir`` holding a copy of ``source_dir``'s registry, marked seeded; returned."""
    target_dir.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_dir / "registry.db")
    copy = sqlite3.connect(target_dir / "registry.db")
    try:
        source.backup(copy)  # consistent even while another test reads the source
    finally:
        copy.close()
        source.close()
    mark_seeded(embedded_tracking_uri(target_dir), target_dir)
    return target_dir
