"""What must hold before the console serves anyone, checked once where it starts.

``python app.py``, ``gunicorn app:server`` (through ``gunicorn.conf.py``) and a Celery worker
all run ``check_configuration`` before any worker starts; a problem stops them with one line
that says what is wrong and what to do, instead of workers that die while booting.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import NoReturn

from services.jobs.seal import KEY_BYTES
from services.settings import (
    APP_AUTH_MODE,
    DATABRICKS_APP_PORT,
    HOST,
    PORT,
    PROMETHEUS_MULTIPROC_DIR,
    ConfigurationError,
    Settings,
)

log = logging.getLogger("model_console")

PROJECT = Path(__file__).resolve().parent.parent  # for the seeding process's imports
KNOWN_AUTH_MODES = APP_AUTH_MODE.choices
# Packages some modes import only when they run; a missing one is named before start.
JOBS_IN_CELERY = ("celery", "redis")
SPARK_CLIENT = ("pyspark", "grpc")  # pyspark[connect], in requirements-spark.txt
REINSTALL = "install the app's requirements: pip install -r requirements.txt"


def configure_process() -> None:
    """What the console sets for the process as a whole, before it builds anything: MLflow's
    HTTP retries in seconds, not minutes (a person waiting on a page should hear "registry
    unreachable" soon); an operator's own values win."""
    from services.settings import MLFLOW_HTTP_DEFAULTS

    for name, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


def listen_address() -> tuple[str, int]:
    """Databricks Apps route to 0.0.0.0:$DATABRICKS_APP_PORT; elsewhere stay on loopback.
    ``HOST`` overrides either."""
    port = DATABRICKS_APP_PORT.value() or PORT.value()
    return str(HOST.value()), int(port)  # type: ignore[call-overload]


def check_configuration(settings: Settings) -> None:
    """Raise ``ConfigurationError`` for the first setting the console cannot run with."""
    _check_auth_mode(settings)
    _check_job_secret(settings)
    _check_metrics(settings)
    _check_packages(settings)
    ensure_data_dir(settings.app_data_dir)
    _check_sqlite_registry(settings.tracking_uri)


def _check_auth_mode(settings: Settings) -> None:
    mode = settings.auth_mode
    if mode not in KNOWN_AUTH_MODES:
        raise ConfigurationError(
            f"APP_AUTH_MODE={mode!r} is not a mode; use one of {', '.join(KNOWN_AUTH_MODES)}."
        )
    if mode == "mlflow-basic" and not settings.tracking_uri.startswith(("http://", "https://")):
        raise ConfigurationError(
            "APP_AUTH_MODE=mlflow-basic checks passwords against an MLflow server: set "
            "MLFLOW_TRACKING_URI to its http(s):// address."
        )
    if mode == "databricks" and not settings.databricks_host:
        raise ConfigurationError(
            "APP_AUTH_MODE=databricks needs DATABRICKS_HOST (the workspace URL); Databricks "
            "Apps set it, elsewhere set it yourself."
        )


def _check_job_secret(settings: Settings) -> None:
    if settings.job_secret and len(settings.job_secret) < KEY_BYTES:
        raise ConfigurationError(
            f"JOB_SECRET_KEY is shorter than {KEY_BYTES} characters; use a longer "
            "random value (or unset it to have one generated in APP_DATA_DIR)."
        )


def _check_metrics(settings: Settings) -> None:
    """Metrics name every model and its traffic: where several people sign in, only a scraper
    holding the token may read them."""
    if settings.metrics_enabled and settings.auth_mode != "none" and not settings.metrics_token:
        raise ConfigurationError(
            f"METRICS_ENABLED=true in mode {settings.auth_mode} needs METRICS_TOKEN (a secret "
            "the scraper sends as X-Metrics-Token), or set METRICS_ENABLED=false."
        )


def prepare_metrics_dir(settings: Settings) -> Path | None:
    """In gunicorn's master, before any worker (or ``prometheus_client``) starts: an empty
    folder where each worker writes its counts, named in the environment the workers
    inherit. Counts of an earlier run are removed: a scrape would add them up too."""
    if not settings.metrics_enabled:
        return None
    # Not services.metrics: prometheus_client, imported here, would choose its single-process
    # storage for good, and the workers forked from this process would inherit that choice.
    variable = PROMETHEUS_MULTIPROC_DIR.name
    folder = Path(PROMETHEUS_MULTIPROC_DIR.text() or settings.app_data_dir / "prometheus")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for counts in folder.glob("*.db"):  # prometheus_client's files, nothing else
            counts.unlink()
    except OSError as error:
        raise ConfigurationError(f"Cannot prepare {folder} for metrics ({error}).") from None
    os.environ[variable] = str(folder)
    return folder


def _check_packages(settings: Settings) -> None:
    if settings.spark_remote and not all(importlib.util.find_spec(p) for p in SPARK_CLIENT):
        raise ConfigurationError(
            "SPARK_REMOTE is set, but the Spark Connect client is not installed: "
            "pip install -r requirements-spark.txt (or unset SPARK_REMOTE)."
        )
    needed = JOBS_IN_CELERY if settings.redis_url else ()
    purpose = "jobs in Celery workers (REDIS_URL is set)"
    for package in needed:
        try:
            importlib.import_module(package)
        except ImportError:
            raise ConfigurationError(
                f"The package {package} is missing ({purpose} need it): {REINSTALL}."
            ) from None


def ensure_data_dir(path: Path) -> None:
    """Create APP_DATA_DIR (and its parents) if needed, and prove it can be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ConfigurationError(
            f"APP_DATA_DIR={path} cannot be created or written ({reason}); point APP_DATA_DIR "
            "at a writable folder."
        ) from None


def _check_sqlite_registry(uri: str) -> None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return
    folder = Path(uri[len(prefix) :]).parent
    if not folder.is_dir():
        raise ConfigurationError(
            f"MLFLOW_TRACKING_URI={uri} is in a folder that does not exist ({folder}); "
            "create it or fix the path."
        )


def check_port_free(host: str, port: int) -> None:
    """Refuse to start on a port another program holds (gunicorn would retry, then fail)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"Port {port} on {host} is in use by another program; stop it or set "
                    "PORT to a free port."
                ) from None
            raise ConfigurationError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None


def prepare_registry(settings: Settings) -> None:
    """On the embedded registry, make sure the demo models exist."""
    if settings.embedded_registry:
        from services.registry.demo import ensure_demo_models

        seeded = ensure_demo_models(settings.tracking_uri, settings.app_data_dir)
        if seeded:
            log.info("Seeded demo models: %s", ", ".join(seeded))


def stop(error: ConfigurationError, exit_code: int = 2) -> NoReturn:
    """One line on stderr, then exit: the whole explanation, no traceback."""
    print(f"Cannot start the model console: {error}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        logging.shutdown()
    os._exit(exit_code)  # before any atexit hook or worker can add noise


def before_workers(addresses: list[object]) -> int | None:
    """In gunicorn's master, before it listens or forks: check, start seeding, and remember
    that this was done (workers are forked, so they inherit the flag and do not seed).
    Returns the seeding process's id, None when there is nothing to seed."""
    global _prepared
    try:
        settings = Settings.from_env()
        check_configuration(settings)
        for address in addresses:
            if isinstance(address, tuple):
                check_port_free(str(address[0]), int(address[1]))
        prepare_metrics_dir(settings)
        seeder = start_seeding(settings)
    except ConfigurationError as error:
        stop(error)
    _prepared = settings.app_data_dir
    return seeder


def start_seeding(settings: Settings) -> int | None:
    """Seed the embedded registry in a process of its own while a worker boots; None when
    it is seeded already. The process inherits the seeding lock, held from here on, so a
    worker that needs the registry waits until the models are there (``SharedRegistry``).
    A thread waits for its word and stops the whole console if it failed."""
    if not settings.embedded_registry:
        return None
    from services.registry.seed_marks import demo_seeded
    from services.registry.seeding import lock_for_seeding

    data_dir = settings.app_data_dir.resolve()
    if demo_seeded(settings.tracking_uri, data_dir):
        return None  # without importing MLflow in the master
    try:
        lock_fd = lock_for_seeding(data_dir)
    except OSError as error:
        raise ConfigurationError(f"The demo registry cannot be seeded ({error}).") from None
    status_read, status_write = os.pipe()
    fds = {"--lock-fd": lock_fd, "--status-fd": status_write}
    command = [
        sys.executable,
        "-m",
        "services.registry.seeding",
        "--tracking-uri",
        settings.tracking_uri,
        "--data-dir",
        str(data_dir),
        *(str(part) for pair in fds.items() for part in pair),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")])),
    }
    try:
        # A new program, not a fork: nothing of this process's state (locks, threads) goes
        # along. Only the seeder keeps the lock and the pipe's writing end: the lock is
        # released, and the pipe ends, when it exits however it exits.
        process = subprocess.Popen(command, pass_fds=tuple(fds.values()), env=env)
    except OSError as error:
        os.close(status_read)
        raise ConfigurationError(f"The demo registry cannot be seeded ({error}).") from None
    finally:
        os.close(lock_fd)
        os.close(status_write)
    watcher = threading.Thread(
        target=_watch_seeding, args=(status_read, data_dir), name="seed-watcher", daemon=True
    )
    watcher.start()
    global _seeder
    _seeder = process
    return process.pid


def seeding_under_way() -> bool:
    """In gunicorn's master: the seeding process it started still runs."""
    return _seeder is not None and _seeder.poll() is None


def wait_for_the_seeding() -> str | None:
    """In a worker forked while the master's seeding process ran: wait until it has ended.
    None when it failed (the master stops), else how the worker boots."""
    from services.registry.seeding import SEEDING_WAIT_SECONDS, wait_for_seeding

    settings = Settings.from_env()
    try:
        seeded = wait_for_seeding(
            settings.tracking_uri, settings.app_data_dir.resolve(), SEEDING_WAIT_SECONDS
        )
    except TimeoutError:
        return f"the seeding still runs after {SEEDING_WAIT_SECONDS:.0f} s"
    except OSError as error:
        return f"cannot wait for the seeding ({error})"
    return "the seeding has ended" if seeded else None


def _watch_seeding(status_fd: int, data_dir: Path) -> None:
    """The seeder's word, read from its pipe (gunicorn's master reaps every child, so its
    exit code may be gone). A failure stops the master at once with one line; the workers,
    finding their parent gone, stop by themselves, and a request waiting for the registry
    hears that it could not be seeded. Nothing else happens in this thread: the master
    forks workers meanwhile, and a fork copies only the forking thread."""
    from services.registry.seeding import SEEDED

    with os.fdopen(status_fd, "rb") as status:
        report = status.read().decode(errors="replace").strip()
    if report != SEEDED:
        reason = report or "the seeding process ended without saying why"
        stop(
            ConfigurationError(
                f"Seeding the demo registry in {data_dir} failed ({reason}); delete that "
                "folder to start over, or set MLFLOW_TRACKING_URI to your own registry."
            )
        )


_prepared: Path | None = None
_seeder: subprocess.Popen[bytes] | None = None  # kept while it runs (gunicorn reaps it)


def registry_prepared(settings: Settings) -> bool:
    """True in a gunicorn worker whose master already prepared this data directory."""
    return _prepared == settings.app_data_dir
