"""Process-wide environment that MLflow reads, changed only for a while."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def preserved_environment(*names: str) -> Iterator[None]:
    """Whatever the block does to these variables is undone, unset ones included."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
