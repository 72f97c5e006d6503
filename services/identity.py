"""Who is calling, decided on the server from the request, never from client-side state.

Modes:
- ``none``: one local user (the embedded registry); forwarded headers are ignored.
- ``mlflow-basic``: HTTP Basic credentials on every route, checked against the MLflow server
  and used for every registry call and file download of that user.
- ``databricks``: the Databricks Apps proxy forwards the user (``X-Forwarded-Email`` …) and,
  with user authorization enabled, the user's token (``X-Forwarded-Access-Token``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import orjson

from services.errors import Unauthenticated

log = logging.getLogger(__name__)

LOCAL_USER = "local user"
MODE_NONE = "none"
MODE_MLFLOW_BASIC = "mlflow-basic"
MODE_DATABRICKS = "databricks"
MODES = (MODE_NONE, MODE_MLFLOW_BASIC, MODE_DATABRICKS)
USER_HEADERS = ("X-Forwarded-Email", "X-Forwarded-User", "X-Forwarded-Preferred-Username")
TOKEN_HEADER = "X-Forwarded-Access-Token"
BASIC_REALM = 'Basic realm="Model Console", charset="UTF-8"'


@dataclass(frozen=True)
class Caller:
    """The person a request acts for, and the credentials the registry will see."""

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


def identify(mode: str, headers: Mapping[str, str]) -> Caller:
    """The caller of one request, from its headers, by the app's mode."""
    if mode == MODE_NONE:
        return LOCAL_CALLER
    if mode == MODE_MLFLOW_BASIC:
        return _basic_caller(headers.get("Authorization", ""))
    if mode == MODE_DATABRICKS:
        return _databricks_caller(headers)
    raise ValueError(f"unknown APP_AUTH_MODE {mode!r}; use one of {', '.join(MODES)}")


def _basic_caller(authorization: str) -> Caller:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthenticated(
            "Sign in with your MLflow username and password.",
            hint="Your browser asks for them; API clients send HTTP Basic credentials.",
        )
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, sep, password = "", "", ""
    if not sep or not user:
        raise Unauthenticated("The credentials sent are not valid HTTP Basic credentials.")
    return Caller(user=user, mode=MODE_MLFLOW_BASIC, password=password)


def _databricks_caller(headers: Mapping[str, str]) -> Caller:
    user = next((headers[h] for h in USER_HEADERS if headers.get(h)), None)
    if not user:
        raise Unauthenticated(
            "No user identity was forwarded with this request.",
            hint="Open the app through its Databricks Apps URL, not the container's port.",
        )
    token = headers.get(TOKEN_HEADER)
    if not token:
        raise Unauthenticated(
            f"User authorization is not enabled for this app, so it cannot act as {user}.",
            hint="In the app's settings enable user authorization with the 'model serving' "
            "and 'Unity Catalog' scopes, then redeploy. The app never falls back to its own "
            "service principal.",
        )
    return Caller(user=user, mode=MODE_DATABRICKS, token=token)


def current_caller() -> Caller:
    """The caller of the request being served, as the server decided it before dispatch."""
    from flask import g, has_request_context

    caller = getattr(g, "model_console_caller", None) if has_request_context() else None
    if caller is None:
        raise Unauthenticated("This request has no signed-in user.")
    return caller


class CallerSeal:
    """A caller packed for one background job, which runs outside the request that started
    it (a forked process, or a Celery worker that receives it through Redis). The caller's
    credentials travel encrypted and authenticated with the app's job secret, bound to the
    job they were sealed for and good for ``max_age_seconds``: a job never takes its identity
    from anything the browser sent, and a sealed caller opens for no other job."""

    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        from cryptography.fernet import Fernet

        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))
        self.max_age_seconds = max_age_seconds

    def seal(self, caller: Caller, job: str) -> str:
        return self._fernet.encrypt(orjson.dumps({"caller": asdict(caller), "job": job})).decode()

    def open(self, sealed: str | None, job: str) -> Caller:
        from cryptography.fernet import InvalidToken

        if not sealed:
            raise Unauthenticated("This job carries no signed-in user.", hint=RETRY_JOB)
        try:
            data = orjson.loads(self._fernet.decrypt(sealed.encode(), ttl=self.max_age_seconds))
        except InvalidToken:
            log.error(
                "A CSV job's sealed caller did not open: it waited longer than %d s, or the "
                "job worker has another JOB_SECRET_KEY than the web app",
                self.max_age_seconds,
            )
            raise Unauthenticated(
                "This job's sign-in could not be verified.", hint=ASK_ADMINISTRATOR
            ) from None
        if data["job"] != job:
            raise Unauthenticated("This job's sign-in was made for another job.", hint=RETRY_JOB)
        return Caller(**data["caller"])


RETRY_JOB = "Press Predict from CSV again."
ASK_ADMINISTRATOR = (
    "Tell the administrator: the job waited too long in the queue, or the job workers and the "
    "web app do not share JOB_SECRET_KEY (see the server log)."
)
