"""A Python environment built from requirements.txt alone, as Databricks Apps and
``scripts/run.sh`` build theirs: nothing from the dev or test requirements is in it.

Built once per content of requirements.txt (pip's cache makes a rebuild quick) and kept
under ``$RUNTIME_ENV_CACHE`` (default ``~/.cache/model-console``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.processes import PROJECT

REQUIREMENTS = PROJECT / "requirements.txt"


def _cache_root() -> Path:
    configured = os.environ.get("RUNTIME_ENV_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "model-console"


def runtime_python() -> Path:
    """The interpreter of the runtime-only environment, built first if needed."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:16]
    root = _cache_root() / f"runtime-{digest}"
    python = root / "bin" / "python"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"runtime-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".complete").exists():
            _build(root, python)
    return python


def _build(root: Path, python: Path) -> None:
    for stale in root.parent.glob("runtime-*"):  # environments of earlier requirements
        if stale.is_dir() and stale != root:
            shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(root)], check=True)
    installed = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        raise RuntimeError(f"pip install -r requirements.txt failed:\n{installed.stderr[-4000:]}")
    (root / ".complete").touch()
