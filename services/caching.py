"""Small answers remembered for a while: alias resolutions, permission verdicts, sign-ins,
version files. One key scheme for all of them, and a time of 0 that means "ask every time"
(cachelib, under Flask-Caching, reads a timeout of 0 as "never expires")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class KeyValueCache(Protocol):
    """What Flask-Caching's ``Cache`` and cachelib's caches both offer."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


def cache_key(kind: str, *parts: str) -> str:
    """``kind`` names what is remembered; ``parts`` whom and what it is about. The parts are
    joined with a separator that cannot occur in them unescaped."""
    return "|".join([kind, *(part.replace("\\", "\\\\").replace("|", "\\|") for part in parts)])


class Remembered:
    """A ``KeyValueCache`` whose entries live ``seconds`` (0 or less: nothing is kept)."""

    def __init__(self, cache: KeyValueCache, seconds: int) -> None:
        self.cache = cache
        self.seconds = seconds

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return compute()
        value = self.cache.get(key)
        if value is None:
            value = compute()
            self.cache.set(key, value, timeout=self.seconds)
        return value

    def remember(self, key: str, value: Any) -> None:
        if self.seconds > 0:
            self.cache.set(key, value, timeout=self.seconds)

    def recall(self, key: str) -> Any:
        return self.cache.get(key) if self.seconds > 0 else None
