"""Who is calling, decided on the server from each request, never from client-side state.

Modes (``APP_AUTH_MODE``):
- ``none``: one local user (the embedded registry); forwarded headers are ignored.
- ``mlflow-basic``: HTTP Basic credentials on every route, checked against the MLflow server
  and used for every registry call and file download of that user.
- ``databricks``: the Databricks Apps proxy forwards the user (``X-Forwarded-Email`` …) and,
  with user authorization enabled, the user's token (``X-Forwarded-Access-Token``).

``Identity`` is a Flask extension: ``init_app(server, prefix)`` decides the caller before every
request under the prefix (UI, callbacks, assets, API) and refuses the request when that fails;
``current_caller()`` is how everything else learns who it is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson
import requests
from flask import Flask, Response, g, has_request_context, request

from services.access.audit import DENIED, AuditLog, AuditRecord, Source
from services.access.caller import (
    LOCAL_CALLER,
    MODE_DATABRICKS,
    MODE_MLFLOW_BASIC,
    MODE_NONE,
    MODES,
    Caller,
)
from services.caching import KeyValueCache, Remembered, cache_key
from services.errors import ConsoleError, RegistryUnavailable, Unauthenticated
from services.registry.records import display_uri
from services.settings import Settings

USER_HEADERS = ("X-Forwarded-Email", "X-Forwarded-User", "X-Forwarded-Preferred-Username")
TOKEN_HEADER = "X-Forwarded-Access-Token"
BASIC_REALM = 'Basic realm="Model Console", charset="UTF-8"'
CURRENT_USER_API = "/api/2.0/mlflow/users/current"  # 200 for any valid pair, 401 otherwise
DATABRICKS_ME_API = "/api/2.0/preview/scim/v2/Me"  # whom a token belongs to
SIGN_IN_TIMEOUT_SECONDS = 30
_CALLER = "model_console_caller"  # flask.g attribute


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
    if not (user + password).isascii() or any(ord(c) < 32 for c in user + password):
        # MLflow's own client sends credentials as Latin-1 and its server reads them as
        # UTF-8: only plain ASCII means the same thing at both ends.
        raise Unauthenticated(
            "The user name or password has characters MLflow's sign-in cannot carry "
            "(only ASCII letters, digits and punctuation work).",
            hint="Sign in with an ASCII user name and password; ask an administrator to "
            "change them if yours are not.",
        )
    return Caller(user=user, mode=MODE_MLFLOW_BASIC, password=password)


def _databricks_caller(headers: Mapping[str, str]) -> Caller:
    _one_identity(headers)
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


def _one_identity(headers: Mapping[str, str]) -> None:
    """A request that names its user twice (a proxy that appends instead of replacing, or
    someone reaching the container past the proxy) names nobody."""
    getlist = getattr(headers, "getlist", None)
    for name in (*USER_HEADERS, TOKEN_HEADER):
        values = getlist(name) if getlist else [headers.get(name)]
        if len({v for v in values if v}) > 1 or any(
            "," in (v or "") for v in values[:1] if name == TOKEN_HEADER
        ):
            raise Unauthenticated(
                f"This request carries more than one {name}.",
                hint="Open the app through its Databricks Apps URL, not the container's port.",
            )


def current_caller() -> Caller:
    """The caller of the request being served, as the server decided it before dispatch."""
    caller = getattr(g, _CALLER, None) if has_request_context() else None
    if caller is None:
        raise Unauthenticated("This request has no signed-in user.")
    return caller


def verify_password(host: str, caller: Caller) -> None:
    """Return only if the MLflow server says, in so many words, that these are the
    caller's credentials: a 200 naming this very user. A 401 is a wrong password; any other
    answer (403, 404, 429, a 5xx, a body that is not an auth server's) is not a yes, so
    nobody signs in until the server answers properly (fail closed)."""
    shown = display_uri(host)
    try:
        response = requests.get(
            f"{host}{CURRENT_USER_API}",
            auth=(caller.user, caller.password or ""),
            timeout=SIGN_IN_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        raise RegistryUnavailable(f"Cannot reach the MLflow server at {shown}.") from None
    if response.status_code == 401:
        raise Unauthenticated(
            f"The MLflow server at {shown} did not accept the password for {caller.user}.",
            hint="Check the username and password, then sign in again.",
        )
    if response.status_code != 200 or _signed_in_user(response) != caller.user:
        raise RegistryUnavailable(
            f"The MLflow server at {shown} could not confirm the sign-in "
            f"(it answered {response.status_code}), so nobody can sign in for now.",
            hint="Retry in a moment; if it persists, the administrator should check that "
            "MLFLOW_TRACKING_URI is an MLflow server with authentication.",
        )


def _signed_in_user(response: requests.Response) -> str | None:
    try:
        user = response.json().get("user") or {}
    except (ValueError, AttributeError):
        return None
    name = user.get("username") if isinstance(user, dict) else None
    return name if isinstance(name, str) else None


def verify_databricks_user(host: str, caller: Caller) -> None:
    """The forwarded user must be the one the forwarded token belongs to (the workspace says
    whom: SCIM ``Me``); anything else, or no clear answer, refuses (fail closed)."""
    shown = display_uri(host)
    try:
        response = requests.get(
            f"{host}{DATABRICKS_ME_API}",
            timeout=SIGN_IN_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {caller.token}"},
        )
    except requests.RequestException:
        raise RegistryUnavailable(f"Cannot reach the workspace at {shown}.") from None
    if response.status_code in (401, 403):
        raise Unauthenticated(
            "The workspace did not accept the forwarded token.",
            hint="Reload the page to sign in again.",
        )
    if response.status_code != 200:
        raise RegistryUnavailable(
            f"The workspace at {shown} could not confirm who is signed in "
            f"(it answered {response.status_code}).",
            hint="Retry in a moment.",
        )
    if caller.user.lower() not in _token_names(response):
        raise Unauthenticated(
            "The forwarded user is not the owner of the forwarded token.",
            hint="Open the app through its Databricks Apps URL, not the container's port.",
        )


def _token_names(response: requests.Response) -> set[str]:
    """The user name and e-mail addresses the workspace gives for a token, lower case."""
    try:
        me = response.json()
    except ValueError:
        return set()
    if not isinstance(me, dict):
        return set()
    names = {me.get("userName"), me.get("id")}
    names |= {e.get("value") for e in me.get("emails") or [] if isinstance(e, dict)}
    return {n.lower() for n in names if isinstance(n, str) and n}


class Identity:
    """Decides the caller of every request under a prefix; see the module's docstring."""

    def __init__(self, settings: Settings, cache: KeyValueCache, audit: AuditLog) -> None:
        self.settings = settings
        self.audit = audit
        self.sign_ins = Remembered(cache, settings.permission_cache_seconds)

    def init_app(self, server: Flask, prefix: str) -> None:
        api_prefix = f"{prefix.rstrip('/')}/api/"

        @server.before_request
        def identify_caller() -> Response | None:
            if not request.path.startswith(prefix):
                return None
            try:
                caller = identify(self.settings.auth_mode, request.headers)
                self.check_sign_in(caller)
            except Unauthenticated as error:
                return self.refusal(error, request.path.startswith(api_prefix))
            except ConsoleError as error:  # the registry cannot confirm the sign-in
                if request.path.startswith(api_prefix):  # the API answers JSON, as documented
                    body = orjson.dumps(error.to_dict())
                    return Response(body, status=error.http_status, mimetype="application/json")
                return Response(error.message, status=error.http_status, mimetype="text/plain")
            setattr(g, _CALLER, caller)
            return None

    def check_sign_in(self, caller: Caller) -> None:
        """In mlflow-basic mode the MLflow server decides whether a password is right; in
        databricks mode the workspace says whom the forwarded token belongs to. A yes is
        remembered for ``permission_cache_seconds`` (the checks are slow)."""
        if self.settings.auth_mode == MODE_NONE:
            return
        key = cache_key("sign-in", caller.key)
        if self.sign_ins.recall(key):
            return
        try:
            if self.settings.auth_mode == MODE_DATABRICKS:
                verify_databricks_user(self.settings.databricks_host or "", caller)
            else:
                verify_password(self.settings.tracking_uri.rstrip("/"), caller)
        except Unauthenticated as error:
            self.audit.record(
                AuditRecord(
                    user=caller.user,
                    source=Source.SIGN_IN,
                    action="sign-in",
                    outcome=DENIED,
                    error_code=error.error_code,
                )
            )
            raise
        self.sign_ins.remember(key, True)

    def refusal(self, error: Unauthenticated, api: bool) -> Response:
        """401 with the reason; in mlflow-basic mode the browser is asked for a password."""
        body = orjson.dumps(error.to_dict()) if api else f"{error.message} {error.hint or ''}"
        response = Response(body, status=401, mimetype="application/json" if api else "text/plain")
        if self.settings.auth_mode == MODE_MLFLOW_BASIC:
            response.headers["WWW-Authenticate"] = BASIC_REALM
        return response
