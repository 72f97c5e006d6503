"""Process-wide environment that MLflow reads, changed only for a while; and MLflow's
first import, made by one thread at a time."""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Iterator

_mlflow_imported = False
_importing_mlflow = threading.Lock()


def import_mlflow_once() -> None:
    """Import MLflow (its pyfunc flavour and registry stores) if no thread has yet, one
    thread at a time. MLflow's modules import each other in a circle (``mlflow`` and
    ``mlflow.store._unity_catalog``, MLflow 3.17.2): two threads importing different parts
    of it at once, as a worker's warm-up and its first request do, can leave one with a
    partially initialized module ("partially initialized module 'mlflow' has no attribute
    'version'") and a 500. Whoever comes second waits here for the first to finish."""
    global _mlflow_imported
    if _mlflow_imported:
        return
    with _importing_mlflow:
        if not _mlflow_imported:
            import mlflow.pyfunc
            import mlflow.store.model_registry.rest_store  # noqa: F401

            _mlflow_imported = True


def import_database_stores(tracking_uri: str, registry_uri: str) -> None:
    """MLflow's SQLAlchemy store for each of the two URIs that names a database (imported
    by MLflow when the client is made; in a worker's warm-up, while a seeding may still
    run), one thread at a time as above."""
    import_mlflow_once()
    from mlflow.store.db.db_types import DATABASE_ENGINES

    stores = [
        (tracking_uri, "mlflow.store.tracking.sqlalchemy_store"),
        (registry_uri, "mlflow.store.model_registry.sqlalchemy_store"),
    ]
    with _importing_mlflow:
        for uri, store in stores:
            if uri.split(":", 1)[0].split("+", 1)[0] in DATABASE_ENGINES:
                importlib.import_module(store)


@contextlib.contextmanager
def preserved_environment(*names: str) -> Iterator[None]:
    """Whatever the block does to these variables is undone, unset ones included."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
