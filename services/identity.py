"""Who is calling. Decided on the server from the request, never from client-side state."""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_USER = "local user"


@dataclass(frozen=True)
class Caller:
    """The person a request acts for, and the credentials the registry will see."""

    user: str = LOCAL_USER
    mode: str = "none"
    token: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"Caller(user={self.user!r}, mode={self.mode!r})"


LOCAL_CALLER = Caller()


def current_caller() -> Caller:
    """The caller of the request being served (the UI's callbacks and the API both ask here)."""
    return LOCAL_CALLER
