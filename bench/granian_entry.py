"""The console for granian's workers (bench/wsgi_servers.py), set up as gunicorn's workers
are by gunicorn.conf.py's ``post_worker_init``: MLflow and scikit-learn imported, the startup
objects frozen for the garbage collector, the registry client made. Without this the two
servers would differ in more than the server."""

from app import freeze_startup_objects, server, services_of
from services.environment import import_mlflow_once

import_mlflow_once()
import mlflow.sklearn  # noqa: E402, F401
import sklearn.ensemble  # noqa: E402, F401

freeze_startup_objects()
services_of(server).warm_up()

__all__ = ["server"]
