"""Shared fixtures: one real SQLite-backed MLflow registry with really trained models."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachelib import SimpleCache
from dash.testing.composite import DashComposite

from services.access.caller import LOCAL_CALLER
from services.registry.demo import IRIS_MODEL, ensure_demo_models
from services.settings import Settings, embedded_tracking_uri
from services.startup import configure_process
from services.wiring import ConsoleServices
from tests.auth_server import AuthServer, running_auth_server
from tests.registry_models import register_test_models
from tests.shared_chromium import WINDOW, SharedChromium, lend

for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MODEL_NAME", "MODEL_VERSION"):
    os.environ.pop(variable, None)


# The tests build consoles in this process, as a host app does: configured as main() does it
# (MLflow's HTTP retries in seconds), so a registry that goes away is heard of at once.
configure_process()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def basic_header(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    uri = embedded_tracking_uri(data_dir)
    values: dict[str, object] = {
        "app_data_dir": data_dir,
        "tracking_uri": uri,
        "registry_uri": uri,
        "embedded_registry": True,
    }
    values.update(overrides)
    return Settings.from_env(**values)


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A real MLflow basic-auth server with alice, bob and models X and Y (see auth_server)."""
    with running_auth_server(tmp_path_factory.mktemp("mlflow-auth")) as server:
        yield server


def auth(server: AuthServer, user: str, **extra: str) -> dict[str, str]:
    """HTTP Basic headers for one of the auth server's users (or its admin)."""
    password = server.admin[1] if user == server.admin[0] else server.passwords[user]
    return {**basic_header(user, password), **extra}


def mlflow_basic_settings(server: AuthServer, data_dir: Path) -> Settings:
    return settings_for(
        data_dir,
        tracking_uri=server.url,
        registry_uri=server.url,
        embedded_registry=False,
        auth_mode="mlflow-basic",
    )


@pytest.fixture(scope="session")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry seeded with the demo models plus the test-only models."""
    data_dir = tmp_path_factory.mktemp("registry")
    ensure_demo_models(embedded_tracking_uri(data_dir), data_dir)
    register_test_models(embedded_tracking_uri(data_dir), data_dir)
    return data_dir


@pytest.fixture(scope="session")
def settings(registry_dir: Path) -> Settings:
    return settings_for(registry_dir)


@pytest.fixture(scope="session")
def services(settings: Settings) -> ConsoleServices:
    """The console's services on the shared test registry (no Dash, no Flask app)."""
    from services.wiring import build_services

    return build_services(settings, SimpleCache())


@pytest.fixture
def fresh_services(settings: Settings) -> ConsoleServices:
    """Services with empty caches and no alias caching (to see alias moves at once)."""
    from dataclasses import replace

    from services.wiring import build_services

    return build_services(replace(settings, alias_cache_seconds=0), SimpleCache())


def api_predict(services: ConsoleServices, caller, name: str, ref: str, payload, **options):
    """A prediction as the JSON API makes it (audited as ``api``)."""
    from services.access.audit import Source

    return services.scoring.predict(caller, name, ref, payload, source=Source.API, **options)


@pytest.fixture
def caller():
    return LOCAL_CALLER


@pytest.fixture
def mlflow_client(settings: Settings):
    from mlflow import MlflowClient

    return MlflowClient(settings.tracking_uri, settings.registry_uri)


@pytest.fixture
def restore_iris_aliases(mlflow_client) -> Iterator[None]:
    """Tests that move aliases put them back, so test order never matters."""
    yield
    mlflow_client.set_registered_model_alias(IRIS_MODEL, "Champion", "1")
    mlflow_client.set_registered_model_alias(IRIS_MODEL, "Challenger", "2")


@pytest.fixture(scope="session")
def flask_app(settings: Settings):
    from app import create_app

    return create_app(settings=settings).server


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")


CHROMIUM_ARGUMENTS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def pytest_setup_options():
    """Chromium options for dash_duo: quiet on a machine without internet, laptop-sized."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    return options


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[SharedChromium]:
    chromium = SharedChromium()
    yield chromium
    chromium.forget()


@pytest.fixture
def dash_duo(request, dash_thread_server, tmp_path, shared_chromium) -> Iterator[DashComposite]:
    """dash's own ``dash_duo`` (its command-line options, but always a local Chromium: the
    sharing uses Chrome's DevTools protocol), on this process's one Chromium in a fresh tab
    (see tests/shared_chromium.py)."""
    with lend(shared_chromium, dash_thread_server, request, tmp_path / "download") as composite:
        yield composite


@pytest.fixture(autouse=True)
def no_dash_app_left_current():
    """Dash remembers "the current app" in a context variable that outlives the request that
    set it; with many test apps in one process a later test could be served as an earlier
    app. Production runs one console per process; tests start each with none current."""
    from dash import _get_app

    _get_app.app_context.set(None)
    yield


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Spark Connect server on 127.0.0.1 for the whole session, always stopped."""
    from tests.spark_server import running_spark_server

    with running_spark_server(tmp_path_factory.mktemp("spark-connect")) as server:
        yield server
