"""gunicorn's settings for the console, read from the working directory by ``gunicorn
app:server`` and passed explicitly by ``python app.py``.

The master checks the configuration before any worker starts, then, if the embedded registry
is not seeded yet, seeds it in a process of its own while the first worker boots (the first
page does not need it; a request that does waits for it; the other workers boot after it). A
problem stops gunicorn with one line, never a loop of workers failing to boot.
"""

from services.compat import promptly_stopping_thread_worker
from services.settings import GUNICORN_THREADS, WEB_CONCURRENCY, ConfigurationError
from services.startup import before_workers, configure_process, listen_address, stop

configure_process()  # in the master: the workers inherit it
try:
    _host, _port = listen_address()
    workers = WEB_CONCURRENCY.value()
    threads = GUNICORN_THREADS.value()
except ConfigurationError as error:
    stop(error)
bind = [f"{_host}:{_port}"]
worker_class = promptly_stopping_thread_worker()  # gthread, without its 30 s stops
timeout = 600  # a CSV check of a big file runs in the request
accesslog = "-"
control_socket_disable = True  # every gunicorn on a machine would share one control socket


def on_starting(server) -> None:
    seeder = before_workers([address for address in server.cfg.address])
    if seeder is not None:
        server.log.info("Seeding the demo registry in process %s while a worker boots", seeder)


def pre_fork(server, worker) -> None:
    """On a fresh data dir a worker forked while another one serves boots after the seeding:
    three processes importing the same libraries on a machine's few CPUs made the first
    prediction wait for all of them. The first worker, or one that replaces it, serves
    meanwhile."""
    from services.startup import seeding_under_way

    serving = [w for w in server.WORKERS.values() if not getattr(w, "after_seeding", False)]
    worker.after_seeding = bool(serving) and seeding_under_way()


def post_fork(server, worker) -> None:
    if not worker.after_seeding:
        return
    import os
    import signal

    from services.startup import wait_for_the_seeding

    for stop_signal in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(stop_signal, signal.SIG_DFL)  # the master's handlers: a stop would wait
    booting = wait_for_the_seeding()
    if booting is not None:
        server.log.info(
            "Worker %s waited for the demo's seeding, starts now: %s", worker.pid, booting
        )
    elif os.getppid() != worker.ppid:
        os._exit(0)  # the seeding failed and the master has stopped, with its one line


def post_worker_init(worker) -> None:
    """Once the worker serves, import MLflow and scikit-learn (the demo models', and most
    tabular models' library) and make the registry client, in a thread: the first page needs
    none of them, the first prediction all (the client waits for the seeding, if one runs;
    nothing touches the store before)."""
    import threading

    from app import freeze_startup_objects

    freeze_startup_objects()  # the app is built: its objects will live as long as the worker
    threading.Thread(target=_warm_up, args=(worker.wsgi,), name="warm-up", daemon=True).start()


def worker_exit(server, worker) -> None:
    """A worker's audit records waiting in memory are stored before it goes (those on disk
    already are swept by the next process if this one cannot)."""
    import contextlib

    with contextlib.suppress(Exception):  # a worker that never loaded the app has none
        from app import services_of

        services_of(worker.wsgi).close()


def child_exit(server, worker) -> None:
    """In the master, after a worker ended, however it ended (a worker killed by the
    timeout runs no hook of its own): prometheus_client forgets the ended worker's live
    values. The counters and histograms the console keeps stay counted."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # set by before_workers when metrics are on
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _warm_up(server) -> None:
    import contextlib
    import os
    import threading

    with contextlib.suppress(OSError):  # background work: requests and the seeding go first
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    with contextlib.suppress(Exception):  # a real problem shows where the registry is used
        from services.environment import import_mlflow_once

        import_mlflow_once()  # a request that needs MLflow meanwhile waits for it here
        import mlflow.sklearn  # noqa: F401
        import sklearn.ensemble  # noqa: F401

        from services.compat import prepare_requirement_checks

        prepare_requirement_checks()  # or the first model's load spends half a second on it

        from app import freeze_startup_objects, services_of

        freeze_startup_objects()  # MLflow and scikit-learn arrived after create_app froze
        services_of(server).warm_up()
