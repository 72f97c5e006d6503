"""A caller packed for one background job, and the secret that packs it.

A job runs outside the request that started it (a forked process, or a Celery worker that
receives it through Redis). Its caller's credentials travel encrypted and authenticated with
the job secret, bound to that one job and good for ``SEAL_SECONDS``: a job never takes its
identity from anything the browser sent, and a sealed caller opens for no other job.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import secrets
import time
from dataclasses import asdict
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

from services.access.caller import Caller
from services.errors import Unauthenticated
from services.settings import Settings

log = logging.getLogger(__name__)
SEAL_SECONDS = 2 * 3600  # a job that waited longer in a queue than this is refused
KEY_BYTES = 32


class CallerSeal:
    """Seals and opens callers with the job secret (see the module's docstring)."""

    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))
        self.max_age_seconds = max_age_seconds

    def seal(self, caller: Caller, job: str) -> str:
        return self._fernet.encrypt(orjson.dumps({"caller": asdict(caller), "job": job})).decode()

    def open(self, sealed: str | None, job: str) -> Caller:
        if not sealed:
            raise Unauthenticated("This job carries no signed-in user.", hint=RETRY_JOB)
        try:
            data = orjson.loads(self._fernet.decrypt(sealed.encode(), ttl=self.max_age_seconds))
        except InvalidToken:
            log.error(
                "A job's sealed caller did not open: it waited longer than %d s, or the "
                "job worker has another JOB_SECRET_KEY than the web app",
                self.max_age_seconds,
            )
            raise Unauthenticated(
                "This job's sign-in could not be verified.", hint=ASK_ADMINISTRATOR
            ) from None
        if data["job"] != job:
            raise Unauthenticated("This job's sign-in was made for another job.", hint=RETRY_JOB)
        return Caller(**data["caller"])


RETRY_JOB = "Start the job again."
ASK_ADMINISTRATOR = (
    "Tell the administrator: the job waited too long in the queue, or the job workers and the "
    "web app do not share JOB_SECRET_KEY (see the server log)."
)


def caller_seal(settings: Settings) -> CallerSeal:
    """Seals callers for background jobs with ``job_secret``."""
    return CallerSeal(job_secret(settings), SEAL_SECONDS)


def job_secret(settings: Settings) -> bytes:
    """JOB_SECRET_KEY when set (at least 32 characters; needed where the job workers do not
    share $APP_DATA_DIR with the web app); otherwise a key generated once in $APP_DATA_DIR,
    which every process sharing that directory reads."""
    if settings.job_secret:
        if len(settings.job_secret) < KEY_BYTES:
            raise ValueError(f"JOB_SECRET_KEY must be at least {KEY_BYTES} characters long")
        return settings.job_secret.encode()
    path = settings.app_data_dir / "job-secret"
    settings.app_data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
    return _complete_key(path)


def _complete_key(path: Path) -> bytes:
    """The key file, once whole: another process may have created it a moment ago."""
    deadline = time.monotonic() + 5
    while len(key := path.read_bytes()) < KEY_BYTES and time.monotonic() < deadline:
        time.sleep(0.01)
    if len(key) < KEY_BYTES:
        raise RuntimeError(f"{path} holds no complete key: remove it and start again")
    return key
