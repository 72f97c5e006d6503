"""A real MLflow tracking server with basic auth, seeded for permission tests.

Permission checks are only worth testing against the real thing: the MLflow auth app decides
per endpoint which resource a request touches, and the artifact proxy checks the experiment,
not the registered model. So this module starts ``mlflow server --app-name basic-auth`` on a
free local port with ``default_permission = NO_PERMISSIONS``, logs two really trained iris
models as the admin through the server's artifact proxy, and grants:

* alice: READ on model X and on X's experiment (she can resolve and download X);
* alice: READ on model Y only (she can resolve Y but not download its files);
* bob: nothing.

Usage::

    with running_auth_server(tmp_path) as server:
        requests.get(f"{server.url}/api/2.0/mlflow/registered-models/get",
                     params={"name": server.models["X"]},
                     auth=("alice", server.passwords["alice"]))
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from services.environment import preserved_environment
from services.registry.demo import pip_requirements
from tests.waiting import exited, until

ADMIN_USERNAME = "admin"
USERNAMES = ("alice", "bob")
MODEL_NAMES = {"X": "test.auth.model_x", "Y": "test.auth.model_y"}
EXPERIMENT_NAMES = {"X": "/test-auth/model-x", "Y": "/test-auth/model-y"}
ALIAS = "Champion"
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

# Credentials are re-checked at most once a minute per worker; without this every request
# pays a PBKDF2 hash check (about 0.5 s). Grants are not cached, so revokes act at once.
AUTH_CACHE_TTL_SECONDS = 60
STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0
REQUEST_TIMEOUT_SECONDS = 30.0
GRANT_PATH = "/api/3.0/mlflow/users/permissions/grant"
REVOKE_PATH = "/api/3.0/mlflow/users/permissions/revoke"
CREATE_USER_PATH = "/api/2.0/mlflow/users/create"

# Client-side variables MLflow reads process-wide; they are set only while logging as admin.
# The token and auth-plugin variables are hidden meanwhile so they cannot override basic auth.
_CLIENT_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_AUTH",
)


@dataclass
class AuthServer:
    """A running basic-auth server; ``grant``/``revoke`` act as the admin."""

    url: str
    admin: tuple[str, str]
    passwords: dict[str, str]
    models: dict[str, str]
    experiments: dict[str, str]

    def grant(
        self, username: str, resource_type: str, resource_id: str, permission: str = "READ"
    ) -> None:
        """Give ``username`` ``permission`` on a ``registered_model`` (by name) or an
        ``experiment`` (by id). The 2.0 per-resource permission routes answer 404 in MLflow 3,
        so this uses the unified 3.0 grant route."""
        payload = {
            "username": username,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "permission": permission,
        }
        _post_as(self.url, GRANT_PATH, self.admin, payload)

    def revoke(self, username: str, resource_type: str, resource_id: str) -> None:
        """Take back whatever ``grant`` gave ``username`` on that resource."""
        payload = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
        _post_as(self.url, REVOKE_PATH, self.admin, payload)


@contextlib.contextmanager
def running_auth_server(
    workdir: Path, *, workers: int = 2, timeout: float = STARTUP_TIMEOUT_SECONDS
) -> Iterator[AuthServer]:
    """Start a seeded basic-auth server under ``workdir`` and stop it (whole process group)
    on exit, even if seeding or the test fails."""
    workdir = Path(workdir).resolve()
    (workdir / "artifacts").mkdir(parents=True, exist_ok=True)
    admin = (ADMIN_USERNAME, _new_password())
    config_path = _write_auth_config(workdir, admin[1])
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    process = _start_server(workdir, port, workers, _server_env(config_path), log_path)
    try:
        _wait_until_ready(process, url, log_path, timeout)
        server = _seed(url, admin)
        yield server
    finally:
        _stop_process_group(process)


def _new_password() -> str:
    """24 URL-safe characters: over MLflow's 12-character minimum and free of ``%``, which
    configparser would try to interpolate."""
    return secrets.token_urlsafe(18)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_auth_config(workdir: Path, admin_password: str) -> Path:
    """The shipped ini lets everyone READ everything; permission tests need deny-by-default."""
    path = workdir / "basic_auth.ini"
    path.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{workdir / 'basic_auth.db'}\n"
        f"admin_username = {ADMIN_USERNAME}\n"
        f"admin_password = {admin_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_SECONDS}\n"
    )
    path.chmod(0o600)
    return path


def _server_env(config_path: Path) -> dict[str, str]:
    """Inherited ``MLFLOW_*`` variables are dropped: ``MLFLOW_AUTH_ADMIN_*`` would override
    the ini, and a tracking URI or credentials from the test process mean nothing to the
    server. Job execution is off because it forks seven runners (about 2.5 GB)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env.update(
        MLFLOW_AUTH_CONFIG_PATH=str(config_path),
        MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(32),
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def _start_server(
    workdir: Path, port: int, workers: int, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Own process group (new session) so one signal reaches mlflow's launcher and every
    uvicorn worker; output goes to a file so a full pipe can never block the server."""
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--app-name",
        "basic-auth",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no server log: {error})"


def _wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float
) -> None:
    """Poll ``/health`` (exempt from auth) until it answers 200; fail fast with the log tail
    if the server exits, e.g. on a bad secret key or admin password."""
    try:
        until(
            lambda: _healthy(url),
            timeout,
            poll=0.2,
            msg=f"MLflow auth server at {url} ready",
            gone=exited(process, "MLflow auth server"),
        )
    except AssertionError as exc:
        raise RuntimeError(f"{exc}\n--- {log_path} (tail) ---\n{_log_tail(log_path)}") from exc


def _healthy(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_group(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Reap the leader and wait for the workers too: uvicorn's children can outlive it."""
    started = time.monotonic()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    left = max(0.0, timeout - (time.monotonic() - started))
    with contextlib.suppress(AssertionError):
        until(lambda: not _group_alive(process.pid), left)
    return process.poll() is not None and not _group_alive(process.pid)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group (graceful uvicorn shutdown), then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        if _wait_for_group(process, STOP_TIMEOUT_SECONDS):
            return


def _post_as(url: str, path: str, auth: tuple[str, str], payload: dict[str, str]) -> dict:
    """POST JSON as ``auth``; raise with the server's answer, which names the real problem
    (unknown user, bad permission name) far better than a bare status code."""
    response = requests.post(
        f"{url}{path}", json=payload, auth=auth, timeout=REQUEST_TIMEOUT_SECONDS
    )
    if not response.ok:
        raise RuntimeError(f"POST {path} -> {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else {}


@contextlib.contextmanager
def _admin_mlflow_session(url: str, admin: tuple[str, str]) -> Iterator[None]:
    """MLflow's fluent API and client read the tracking URI and credentials process-wide
    (``set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI``). Set them only while logging and
    put back exactly what was there before, unset variables included, so nothing later in the
    test process silently talks to this server as admin."""
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with preserved_environment(*_CLIENT_VARIABLES):
        for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_AUTH"):
            os.environ.pop(name, None)
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = admin
        with _use_tracking_uri(url):
            yield


def _log_and_register(client, key: str, regularisation: float) -> tuple[str, str]:
    """Train an iris LogisticRegression, log it into its own experiment (files go through the
    server's mlflow-artifacts proxy) and register it as version 1 with the alias."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    iris = load_iris()
    features = pd.DataFrame(iris.data, columns=IRIS_FEATURES).astype("float64")
    estimator = LogisticRegression(C=regularisation, max_iter=1000).fit(features, iris.target)
    experiment_id = client.create_experiment(EXPERIMENT_NAMES[key])
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            signature=infer_signature(features, estimator.predict(features)),
            input_example=features.head(3),
            serialization_format="cloudpickle",
            pip_requirements=pip_requirements(),
        )
    name = MODEL_NAMES[key]
    client.create_registered_model(name)
    version = client.create_model_version(
        name, source=info.model_uri, run_id=info.run_id, model_id=info.model_id
    )
    client.set_registered_model_alias(name, ALIAS, version.version)
    return name, experiment_id


def _seed(url: str, admin: tuple[str, str]) -> AuthServer:
    """Create the users, log both models as admin, then apply the grants the tests rely on."""
    from mlflow import MlflowClient

    passwords = {username: _new_password() for username in USERNAMES}
    for username, password in passwords.items():
        _post_as(url, CREATE_USER_PATH, admin, {"username": username, "password": password})
    models: dict[str, str] = {}
    experiments: dict[str, str] = {}
    with _admin_mlflow_session(url, admin):
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        for key, regularisation in (("X", 1.0), ("Y", 0.1)):
            models[key], experiments[key] = _log_and_register(client, key, regularisation)
    server = AuthServer(url, admin, passwords, models, experiments)
    server.grant("alice", "registered_model", models["X"])
    server.grant("alice", "experiment", experiments["X"])
    server.grant("alice", "registered_model", models["Y"])
    return server
