"""Model console: a Dash app over an MLflow Model Registry.

Three ways to run it:
- ``python app.py``: gunicorn on $DATABRICKS_APP_PORT, else $PORT, else 8050 (``--debug`` for
  Flask's development server);
- ``gunicorn app:server``: the module-level ``server`` is created on first access;
- inside another Flask server: ``create_app(server=host, url_base_pathname="/console/")``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import dash
import orjson
from flask import Flask, Response, g, request
from flask_caching import Cache

from api.routes import create_api_blueprint
from callbacks import register_callbacks
from layouts.page import page_layout
from services.audit import AuditLog
from services.bootstrap import build_console, build_csv_service, caller_seal, credential_check
from services.config import ConfigurationError, Settings
from services.errors import ConsoleError, Unauthenticated
from services.identity import BASIC_REALM, MODE_MLFLOW_BASIC, identify
from services.startup import (
    check_configuration,
    listen_address,
    prepare_registry,
    registry_prepared,
    stop,
)

if TYPE_CHECKING:
    from celery import Celery

ROOT = Path(__file__).resolve().parent
ASSETS = ROOT / "assets"
EXTENSION = "model_console"  # server.extensions[EXTENSION][url_base_pathname] -> ModelConsole

log = logging.getLogger("model_console")


def create_app(
    server: Flask | None = None,
    *,
    url_base_pathname: str = "/",
    settings: Settings | None = None,
) -> dash.Dash:
    """Build the console on ``server`` (a new Flask app when None) under ``url_base_pathname``.
    Raises ``ConfigurationError`` for a setting it cannot run with."""
    settings = settings or Settings.from_env()
    check_configuration(settings)
    if not registry_prepared(settings):
        prepare_registry(settings)
    server = server or Flask(__name__)
    cache = Cache()
    cache.init_app(server, config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 5000})
    audit = AuditLog(settings.audit_url)
    console = build_console(settings, cache, audit)
    server.extensions.setdefault(EXTENSION, {})[url_base_pathname] = console
    install_identity(server, url_base_pathname, settings, cache, audit)

    jobs = background_jobs(settings)
    server.extensions.setdefault(f"{EXTENSION}_jobs", {})[url_base_pathname] = jobs
    app = dash.Dash(
        __name__,
        server=server,
        background_callback_manager=jobs,
        url_base_pathname=url_base_pathname,
        assets_folder=str(ASSETS),
        title="Model Console",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    app.layout = lambda: page_layout(settings, settings.upload_limit_bytes)
    csv = build_csv_service(settings, console)
    server.extensions.setdefault(f"{EXTENSION}_csv", {})[url_base_pathname] = csv
    register_callbacks(app, console, csv, caller_seal(settings))
    blueprint = create_api_blueprint(console, csv, name=f"model_console_api_{id(app)}")
    server.register_blueprint(blueprint, url_prefix=url_base_pathname.rstrip("/") + "/api")
    finish_dash_setup(app)
    freeze_startup_objects()
    return app


def finish_dash_setup(app: dash.Dash) -> None:
    """Dash finishes its own setup (which bundles it may serve, cancel callbacks) on the
    first request, and serves requests that arrive on other threads meanwhile half set up:
    a fresh gunicorn worker answered 500 for react and react-dom and the page stayed at
    "Loading...". Done here, before any request."""
    with app.server.test_request_context(app.config.requests_pathname_prefix):
        app._setup_server()


def background_jobs(settings: Settings) -> dash.DiskcacheManager | dash.CeleryManager:
    """Long CSV jobs run outside the web request. By default in a process forked for each
    job, with the job store on disk shared by every gunicorn worker; with REDIS_URL set, in
    Celery workers (``celery -A app:celery_app worker``), which may run on other machines."""
    if settings.redis_url:
        return dash.CeleryManager(celery_for(settings), expire=settings.files_max_age_seconds)
    import diskcache

    store = diskcache.Cache(str(settings.app_data_dir / "jobs"))
    return dash.DiskcacheManager(store, expire=settings.files_max_age_seconds)


def celery_for(settings: Settings) -> Celery:
    from celery import Celery  # imported only when REDIS_URL is set

    celery = Celery("model_console", broker=settings.redis_url, backend=settings.redis_url)
    celery.conf.update(
        result_expires=settings.files_max_age_seconds,
        worker_prefetch_multiplier=1,  # a long job must not hold others back in one worker
        broker_connection_retry_on_startup=True,
    )
    return celery


def install_identity(
    server: Flask, prefix: str, settings: Settings, cache: Cache, audit: AuditLog
) -> None:
    """Before every request under ``prefix`` (UI, callbacks, assets, API): decide the caller
    from the request itself and keep it in ``flask.g``; refuse the request when that fails."""
    verify = credential_check(settings, cache, audit)

    @server.before_request
    def identify_caller() -> Response | None:
        if not request.path.startswith(prefix):
            return None
        try:
            caller = identify(settings.auth_mode, request.headers)
            verify(caller)
        except Unauthenticated as error:
            return refusal(error, settings.auth_mode, request.path.startswith(f"{prefix}api/"))
        except ConsoleError as error:
            return Response(error.message, status=error.http_status, mimetype="text/plain")
        except ValueError as error:  # an unknown APP_AUTH_MODE: a deployment mistake
            return Response(str(error), status=500, mimetype="text/plain")
        g.model_console_caller = caller
        return None


def refusal(error: Unauthenticated, mode: str, api: bool) -> Response:
    """401 with the reason; in mlflow-basic mode the browser is asked for a password."""
    body = orjson.dumps(error.to_dict()) if api else f"{error.message} {error.hint or ''}"
    response = Response(body, status=401, mimetype="application/json" if api else "text/plain")
    if mode == MODE_MLFLOW_BASIC:
        response.headers["WWW-Authenticate"] = BASIC_REALM
    return response


def freeze_startup_objects() -> None:
    """MLflow, Dash, pandas and scikit-learn leave ~400k long-lived objects; a full garbage
    collection over them pauses a request for ~200 ms. Frozen, the collector skips them."""
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
        try:
            _default_app = create_app()
        except ConfigurationError as error:
            stop(error, exit_code=3)  # gunicorn halts on 3 instead of booting another worker
    if name == "server":
        return _default_app.server
    manager = _default_app.server.extensions[f"{EXTENSION}_jobs"]["/"]
    if not isinstance(manager, dash.CeleryManager):
        raise RuntimeError("Set REDIS_URL to run CSV jobs in Celery workers.")
    return manager.handle


def main(argv: list[str] | None = None) -> None:
    """gunicorn with ``gunicorn.conf.py``: its master checks the configuration and seeds
    the embedded registry once, before any worker starts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="Flask's development server")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        host, port = listen_address()
        if args.debug:
            create_app().run(host=host, port=port, debug=True)
            return
    except ConfigurationError as error:
        stop(error)
    log.info("Model console on http://%s:%s (gunicorn)", host, port)
    os.chdir(ROOT)
    config = str(ROOT / "gunicorn.conf.py")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", config, "app:server"])


if __name__ == "__main__":
    main()
