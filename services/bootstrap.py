"""Build the services for one app instance from its settings."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from services.audit import DENIED, AuditLog, AuditRecord
from services.config import Settings
from services.console import KeyValueCache, ModelConsole
from services.csv_service import CsvService
from services.errors import Unauthenticated
from services.files import UserFiles
from services.identity import MODE_DATABRICKS, MODE_MLFLOW_BASIC, MODE_NONE, Caller, CallerSeal
from services.registry import Registry

log = logging.getLogger(__name__)

# MLflow retries a refused connection for minutes by default; a person waiting on a page
# should hear "registry unreachable" in seconds. Operators can still override these.
MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
REGISTRIES_KEPT = 256


def _shared_registry(settings: Settings) -> Callable[[Caller], Registry]:
    """Mode ``none``: one registry client for the one local user."""
    from mlflow import MlflowClient

    shared = Registry(
        MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri),
        settings.registry_uri,
    )
    return lambda caller: shared


def _per_caller(build: Callable[[Caller], Registry]) -> Callable[[Caller], Registry]:
    """One registry client per caller and credentials, the most recent few hundred kept
    (their HTTP sessions keep connections to the registry open)."""
    kept: OrderedDict[str, Registry] = OrderedDict()
    lock = threading.Lock()

    def registry_for(caller: Caller) -> Registry:
        with lock:
            registry = kept.get(caller.key)
            if registry is None:
                registry = kept[caller.key] = build(caller)
                while len(kept) > REGISTRIES_KEPT:
                    kept.popitem(last=False)
            kept.move_to_end(caller.key)
            return registry

    return registry_for


def _mlflow_user_registry(settings: Settings) -> Callable[[Caller], Registry]:
    """Mode ``mlflow-basic``: the caller's own username and password for every call."""
    from services.mlflow_rest import ProxiedFiles, UserRegistryClient

    host = settings.tracking_uri.rstrip("/")
    files_dir = settings.app_data_dir / "model-files"

    def build(caller: Caller) -> Registry:
        return Registry(
            UserRegistryClient(host, caller),
            host,
            user=caller.user,
            files=ProxiedFiles(host, caller, files_dir),
            enforces_permissions=True,
        )

    return _per_caller(build)


def _databricks_user_registry(settings: Settings) -> Callable[[Caller], Registry]:
    """Mode ``databricks``: the user's forwarded token, never the app's service principal."""
    from services.databricks import user_registry

    return _per_caller(lambda caller: user_registry(settings, caller))


REGISTRY_BUILDERS = {
    MODE_NONE: _shared_registry,
    MODE_MLFLOW_BASIC: _mlflow_user_registry,
    MODE_DATABRICKS: _databricks_user_registry,
}


def build_console(
    settings: Settings, cache: KeyValueCache, audit: AuditLog | None = None
) -> ModelConsole:
    for name, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if settings.auth_mode not in REGISTRY_BUILDERS:
        raise ValueError(
            f"APP_AUTH_MODE={settings.auth_mode!r}; use one of {', '.join(REGISTRY_BUILDERS)}"
        )
    registry_for = REGISTRY_BUILDERS[settings.auth_mode](settings)
    return ModelConsole(settings, registry_for, cache, audit=audit)


def credential_check(
    settings: Settings, cache: KeyValueCache, audit: AuditLog
) -> Callable[[Caller], None]:
    """In mlflow-basic mode, the MLflow server decides whether a password is right; a yes is
    remembered for ``permission_cache_seconds`` (the server's password hash costs ~0.5 s)."""
    if settings.auth_mode != MODE_MLFLOW_BASIC:
        return lambda caller: None
    from services.mlflow_rest import verify_credentials

    host = settings.tracking_uri.rstrip("/")

    def check(caller: Caller) -> None:
        key = f"login|{caller.key}"
        if cache.get(key):
            return
        try:
            verify_credentials(host, caller)
        except Unauthenticated as error:
            audit.record(AuditRecord(user=caller.user, source="http", action="sign-in",
                                     outcome=DENIED, error_code=error.error_code))  # fmt: skip
            raise
        cache.set(key, True, timeout=settings.permission_cache_seconds)

    return check


def build_csv_service(settings: Settings, console: ModelConsole) -> CsvService:
    files = UserFiles(settings.app_data_dir / "files", settings.files_max_age_seconds)
    return CsvService(console, files)


SEAL_SECONDS = 2 * 3600  # a job that waited longer in a queue than this is refused


def caller_seal(settings: Settings) -> CallerSeal:
    """Seals callers for background jobs with ``job_secret``."""
    return CallerSeal(job_secret(settings), SEAL_SECONDS)


KEY_BYTES = 32


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
