"""The person a request acts for, and the credentials the registry will see."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

LOCAL_USER = "local user"
MODE_NONE = "none"
MODE_MLFLOW_BASIC = "mlflow-basic"
MODE_DATABRICKS = "databricks"
MODES = (MODE_NONE, MODE_MLFLOW_BASIC, MODE_DATABRICKS)


@dataclass(frozen=True)
class Caller:
    user: str = LOCAL_USER
    mode: str = MODE_NONE
    token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Identifies the caller *and* the credentials in cache keys, without the secret."""
        secret = self.token or self.password or ""
        digest = hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else "-"
        return f"{self.mode}:{self.user}:{digest}"


LOCAL_CALLER = Caller()
