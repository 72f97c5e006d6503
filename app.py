"""Model console: a Dash app over an MLflow Model Registry.

Three ways to run it:
- ``python app.py``: gunicorn on $DATABRICKS_APP_PORT, else $PORT, else 8050 (``--debug`` for
  Flask's development server);
- ``gunicorn app:server``: the module-level ``server`` is created on first access;
- inside another Flask server: ``create_app(server=host, url_base_pathname="/console/")``.
"""

from __future__ import annotations

# The launcher comes first: ``python app.py`` only execs gunicorn, whose workers import the
# rest; importing Dash, pandas and the services here first would only delay the start.
import argparse
import logging
import os
import sys
from pathlib import Path

from services.settings import ConfigurationError
from services.startup import configure_process, listen_address, stop

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    """gunicorn with ``gunicorn.conf.py``: its master checks the configuration and seeds
    the embedded registry once, before any worker starts. What the console does to the
    process as a whole happens here and in gunicorn's hooks, never in ``create_app``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="Flask's development server")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    configure_process()
    try:
        host, port = listen_address()
        if args.debug:
            _debug_server(host, port)
            return
    except ConfigurationError as error:
        stop(error)
    logging.getLogger("model_console").info("Model console on http://%s:%s (gunicorn)", host, port)
    os.chdir(ROOT)
    config = str(ROOT / "gunicorn.conf.py")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", config, "app:server"])


def _debug_server(host: str, port: int) -> None:
    import atexit

    from app import create_app, services_of  # as this module's copy, for the workers' name

    app = create_app()
    atexit.register(services_of(app.server).close)
    app.run(host=host, port=port, debug=True)


if __name__ == "__main__":
    main()


import gc

import dash
from dash.exceptions import DependencyException
from flask import Flask
from flask_caching import Cache

from api.metrics import init_metrics
from api.reference import create_reference_blueprint
from api.routes import create_api_blueprint
from callbacks import register_callbacks
from layouts.page import INDEX_STRING, page_layout
from services.access.guard import RequestGuard
from services.compat import finish_dash_setup, only_the_page
from services.jobs.record import LOCAL
from services.jobs.runners import CeleryRunner
from services.settings import Settings
from services.startup import check_configuration, prepare_registry, registry_prepared
from services.wiring import ConsoleServices, build_services

ASSETS = ROOT / "assets"
EXTENSION = "model_console"  # server.extensions[EXTENSION][url_base_pathname] -> services
log = logging.getLogger("model_console")
NOT_FOUND = ("No such page.", 404, {"Content-Type": "text/plain"})


def create_app(
    server: Flask | None = None,
    *,
    url_base_pathname: str = "/",
    settings: Settings | None = None,
) -> dash.Dash:
    """Build the console on ``server`` (a new Flask app when None) under ``url_base_pathname``
    and configure it; nothing else. Raises ``ConfigurationError`` for a setting it cannot run
    with. On a fresh embedded registry it seeds it before it returns (unless gunicorn's
    master did). What belongs to the process as a whole (environment defaults, garbage
    collection, forks, exit) is done by ``main()``, gunicorn's hooks and the Celery worker's
    signals; a host app may call ``services.startup.configure_process()`` and, at exit,
    ``services_of(server, prefix).close()``."""
    settings = settings or Settings.from_env()
    check_configuration(settings)
    if not registry_prepared(settings):
        prepare_registry(settings)
    server = server or Flask(__name__)
    cache = Cache()
    cache.init_app(server, config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 5000})
    services = build_services(settings, cache)
    services.audit.start()
    init_metrics(server, url_base_pathname, services)  # first: refused requests count too
    guard = RequestGuard(settings)
    guard.init_app(server, url_base_pathname)
    services.identity.init_app(server, url_base_pathname)

    server.extensions.setdefault(EXTENSION, {})[url_base_pathname] = services
    jobs_runner = services.jobs.runners[LOCAL]
    if isinstance(jobs_runner, CeleryRunner):  # this process may be a worker: it runs jobs
        jobs_runner.serve(services.jobs.execute, server.app_context)
    app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname=url_base_pathname,
        assets_folder=str(ASSETS),
        title="Model Console",
        index_string=INDEX_STRING,
        update_title=None,
        suppress_callback_exceptions=True,
    )
    app.layout = lambda: page_layout(settings)
    register_callbacks(app, services)
    blueprint = create_api_blueprint(services, name=f"model_console_api_{id(app)}")
    server.register_blueprint(blueprint, url_prefix=url_base_pathname.rstrip("/") + "/api")
    reference = create_reference_blueprint(
        url_base_pathname,
        app.config.requests_pathname_prefix,
        settings.auth_mode,
        name=f"model_console_reference_{id(app)}",
    )
    server.register_blueprint(reference, url_prefix=url_base_pathname.rstrip("/") + "/api")
    finish_dash_setup(app)
    only_the_page(app, lambda: NOT_FOUND)  # the console's one page is at its prefix
    answer_unknown_bundles(server)
    guard.allow_scripts(app.csp_hashes())
    return app


def services_of(server: Flask, prefix: str = "/") -> ConsoleServices:
    """The services of the console mounted at ``prefix`` in ``server`` (for a host app that
    wants to reach them, and for tests)."""
    return server.extensions[EXTENSION][prefix]


def answer_unknown_bundles(server: Flask) -> None:
    """Dash answers a script path it does not serve (a guess, a ``..``) with an exception,
    so a 500 with its list of what it does serve: a 404 says all there is to say."""
    server.register_error_handler(
        DependencyException, lambda _: ("No such file.", 404, {"Content-Type": "text/plain"})
    )


def freeze_startup_objects() -> None:
    """MLflow, Dash, pandas and scikit-learn leave hundreds of thousands of long-lived
    objects; a full garbage collection over them pauses a request. Frozen, the collector
    skips them (called by gunicorn's and Celery's worker hooks once the app is built)."""
    gc.collect()
    gc.freeze()


_default_app: dash.Dash | None = None


def __getattr__(name: str) -> object:
    """``gunicorn app:server`` and ``celery -A app:celery_app worker`` read these; the app is
    built on first use, not at import."""
    global _default_app
    if name not in ("server", "celery_app"):
        raise AttributeError(name)
    if _default_app is None:
        configure_process()
        try:
            _default_app = create_app()
        except ConfigurationError as error:
            stop(error, exit_code=3)  # gunicorn halts on 3 instead of booting another worker
    if name == "server":
        return _default_app.server
    services = services_of(_default_app.server)
    runner = services.jobs.runners[LOCAL]
    if not isinstance(runner, CeleryRunner):
        stop(ConfigurationError("Set REDIS_URL to run jobs in Celery workers."))
    serve_as_celery_worker(services)
    return runner.celery


def serve_as_celery_worker(services: ConsoleServices) -> None:
    """A Celery worker forks its pool after building the console: each pool process gets
    fresh locks (another thread may have held one at the fork) and frozen startup objects,
    and stores its audit records before it ends."""
    from celery import signals

    @signals.worker_process_init.connect(weak=False)
    def _fresh(**_: object) -> None:
        services.after_fork()
        freeze_startup_objects()

    @signals.worker_process_shutdown.connect(weak=False)
    def _close(**_: object) -> None:
        services.close()
