"""gunicorn's settings for the console, read from the working directory by ``gunicorn
app:server`` and passed explicitly by ``python app.py``.

The master checks the configuration before any worker starts, then, if the embedded registry
is not seeded yet, seeds it in a process of its own while the workers boot (the first page
does not need it; a request that does waits for it). A problem stops gunicorn with one line,
never a loop of workers failing to boot.
"""

from services.settings import ConfigurationError, int_env
from services.startup import before_workers, listen_address, stop

try:
    _host, _port = listen_address()
    workers = int_env("WEB_CONCURRENCY", 2)
    threads = int_env("GUNICORN_THREADS", 8)
except ConfigurationError as error:
    stop(error)
bind = [f"{_host}:{_port}"]
timeout = 600  # a CSV check of a big file runs in the request
accesslog = "-"
control_socket_disable = True  # every gunicorn on a machine would share one control socket


def on_starting(server) -> None:
    seeder = before_workers([address for address in server.cfg.address])
    if seeder is not None:
        server.log.info("Seeding the demo registry in process %s while workers boot", seeder)


def post_worker_init(worker) -> None:
    """Import MLflow once the worker serves: its first page does not need it (the registry
    client is made on first use), its first prediction does. Only the import: the store may
    still be seeded (and its schema migrated) by another process."""
    import threading

    threading.Thread(target=_import_mlflow, name="warm-up", daemon=True).start()


def _import_mlflow() -> None:
    import contextlib

    with contextlib.suppress(Exception):  # a real problem shows where MLflow is used
        import mlflow.pyfunc  # noqa: F401
