"""Which registry client a caller gets, by identity mode."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from services.access.caller import (
    LOCAL_CALLER,
    MODE_DATABRICKS,
    MODE_MLFLOW_BASIC,
    MODE_NONE,
    Caller,
)
from services.environment import import_database_stores, import_mlflow_once
from services.errors import RegistryUnavailable
from services.registry.client import Registry
from services.registry.seeding import SEEDING_WAIT_SECONDS
from services.settings import Settings

RegistryFor = Callable[[Caller], Registry]
REGISTRIES_KEPT = 256


def registries_for(settings: Settings) -> RegistryFor:
    """The function that gives each caller a registry client with the caller's own
    credentials (mode ``none``: the app's own, for its one local user)."""
    builders = {
        MODE_NONE: _shared_registry,
        MODE_MLFLOW_BASIC: _mlflow_user_registry,
        MODE_DATABRICKS: _databricks_user_registry,
    }
    return builders[settings.auth_mode](settings)


class SharedRegistry:
    """Mode ``none``: one client for everyone, made on first use, so that a worker serves
    its first page without waiting for MLflow's import and its store's schema check."""

    def __init__(self, settings: Settings, seeding_wait: float = SEEDING_WAIT_SECONDS) -> None:
        self.settings = settings
        self.seeding_wait = seeding_wait
        self.registry: Registry | None = None
        self.lock = threading.Lock()

    def __call__(self, caller: Caller) -> Registry:
        if self.registry is None:
            import_mlflow_once()
            if self.settings.embedded_registry:  # each waiter on its own clock, side by side
                wait_for_demo_models(self.settings, self.seeding_wait)
            with self.lock:
                if self.registry is None:
                    self.registry = self._build()
        return self.registry

    def _build(self) -> Registry:
        from mlflow import MlflowClient

        uris = {"tracking_uri": self.settings.tracking_uri}
        client = MlflowClient(**uris, registry_uri=self.settings.registry_uri)
        return Registry(client, self.settings.registry_uri)

    def warm_up(self) -> None:
        """Make the client now (after the seeding, if one runs): its store's schema check
        is then not part of the first request that needs the registry. MLflow's database
        store is imported first, while a seeding may still run: it takes as long as the
        training of a demo model."""
        import_database_stores(self.settings.tracking_uri, self.settings.registry_uri)
        self(LOCAL_CALLER)

    def after_fork(self) -> None:
        self.lock = threading.Lock()


def wait_for_demo_models(settings: Settings, timeout: float = SEEDING_WAIT_SECONDS) -> None:
    """The embedded registry may still be seeded by another process (gunicorn's master
    starts one while a worker boots): no one may see it empty or half seeded, nor open
    its database while MLflow migrates the schema. Raises ``RegistryUnavailable``."""
    from services.registry.seeding import wait_for_seeding

    try:
        seeded = wait_for_seeding(settings.tracking_uri, settings.app_data_dir, timeout)
    except TimeoutError:
        raise RegistryUnavailable(
            "The demo models are still being added to the embedded registry.",
            hint="Try again in a moment.",
        ) from None
    if not seeded:
        raise RegistryUnavailable(
            "The demo models could not be added to the embedded registry.",
            hint="The server's log says why; the console stops.",
        )


def _shared_registry(settings: Settings) -> RegistryFor:
    return SharedRegistry(settings)


class PerCaller:
    """One registry client per caller and credentials, the most recent few hundred kept
    (their HTTP sessions keep connections to the registry open)."""

    def __init__(self, build: RegistryFor) -> None:
        self.build = build
        self.kept: OrderedDict[str, Registry] = OrderedDict()
        self.lock = threading.Lock()

    def __call__(self, caller: Caller) -> Registry:
        import_mlflow_once()
        with self.lock:
            registry = self.kept.get(caller.key)
            if registry is None:
                registry = self.kept[caller.key] = self.build(caller)
                while len(self.kept) > REGISTRIES_KEPT:
                    self.kept.popitem(last=False)
            self.kept.move_to_end(caller.key)
            return registry

    def after_fork(self) -> None:
        """A forked job process: a lock another thread held at the fork stays held."""
        self.lock = threading.Lock()


def _mlflow_user_registry(settings: Settings) -> RegistryFor:
    """Mode ``mlflow-basic``: the caller's own username and password for every call."""
    from services.registry.manage_rights import MlflowServerRights
    from services.registry.mlflow_server import ProxiedFiles, UserRegistryClient

    host = settings.tracking_uri.rstrip("/")
    files_dir = settings.app_data_dir / "model-files"

    def build(caller: Caller) -> Registry:
        return Registry(
            UserRegistryClient(host, caller),
            host,
            user=caller.user,
            files=ProxiedFiles(host, caller, files_dir, settings.files_max_age_seconds),
            enforces_permissions=True,
            rights=MlflowServerRights(host, caller),
        )

    return PerCaller(build)


def _databricks_user_registry(settings: Settings) -> RegistryFor:
    """Mode ``databricks``: the user's forwarded token, never the app's service principal."""
    from services.registry.unity_catalog import user_registry

    return PerCaller(lambda caller: user_registry(settings, caller))
