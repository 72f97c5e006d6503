"""Build the services for one app instance from its settings."""

from __future__ import annotations

import logging
import os

from services.config import Settings
from services.console import KeyValueCache, ModelConsole
from services.csv_service import CsvService
from services.files import UserFiles
from services.identity import Caller
from services.registry import Registry

log = logging.getLogger(__name__)

# MLflow retries a refused connection for minutes by default; a person waiting on a page
# should hear "registry unreachable" in seconds. Operators can still override these.
MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def prepare_registry(settings: Settings) -> None:
    """On the embedded registry, make sure the demo models exist."""
    if settings.embedded_registry:
        from services.demo_registry import ensure_demo_models

        seeded = ensure_demo_models(settings.tracking_uri, settings.app_data_dir)
        if seeded:
            log.info("Seeded demo models: %s", ", ".join(seeded))


def build_console(settings: Settings, cache: KeyValueCache) -> ModelConsole:
    from mlflow import MlflowClient

    for name, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    shared = Registry(
        MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri),
        settings.registry_uri,
    )

    def registry_for(caller: Caller) -> Registry:
        return shared

    return ModelConsole(settings, registry_for, cache)


def build_csv_service(settings: Settings, console: ModelConsole) -> CsvService:
    return CsvService(console, UserFiles(settings.app_data_dir / "files"))
