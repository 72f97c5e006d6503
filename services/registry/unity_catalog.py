"""Databricks Apps: every registry call and model download with the *user's* forwarded token.

The app's service principal variables (DATABRICKS_CLIENT_ID / _SECRET) are always set inside
Databricks Apps. Every client here is built from explicit host credentials carrying the
user's token, so nothing can fall back to them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import requests

from services.access.caller import Caller
from services.compat import unity_catalog_store
from services.errors import RegistryUnavailable
from services.registry.client import Registry
from services.registry.manage_rights import UnityCatalogRights
from services.registry.mlflow_server import (
    TIMEOUT_SECONDS,
    UserRegistryClient,
    host_creds,
    raise_for_access,
)
from services.registry.records import display_uri
from services.registry.types import ResolvedVersion
from services.settings import Settings

UC_SCHEME = "databricks-uc"
TEMPORARY_CREDENTIALS = (
    "/api/2.0/mlflow/unity-catalog/model-versions/generate-temporary-credentials"
)


def _host(settings: Settings) -> str:
    if not settings.databricks_host:
        raise RegistryUnavailable("DATABRICKS_HOST is not set, so the workspace is unknown.")
    return settings.databricks_host


class UnityCatalogClient(UserRegistryClient):
    """Unity Catalog's registry API with the user's token instead of the ambient identity."""

    def __init__(self, host: str, caller: Caller) -> None:
        super().__init__(host, caller)
        self.registry = unity_catalog_store(host_creds(host, caller))


class UnityCatalogFiles:
    """A model version's files, asked for with the user's token.

    The permission check is the request loading makes: temporary read credentials for the
    version, which Unity Catalog grants only with ``EXECUTE`` on the model.
    """

    def __init__(self, host: str, caller: Caller, cache_dir: Path) -> None:
        self.host = host
        self.caller = caller
        self.cache_dir = cache_dir

    @staticmethod
    def handles(location: str) -> bool:
        return True

    def check_access(self, resolved: ResolvedVersion, location: str) -> None:
        body = {
            "name": resolved.name,
            "version": resolved.version,
            "operation": "MODEL_VERSION_OPERATION_READ",
        }
        try:
            response = requests.post(
                f"{self.host}{TEMPORARY_CREDENTIALS}",
                json=body,
                headers={"Authorization": f"Bearer {self.caller.token}"},
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            raise RegistryUnavailable(
                f"Cannot reach the workspace at {display_uri(self.host)}."
            ) from None
        raise_for_access(response, self.host, f"{self.caller.user} may not run {resolved.name}.")

    def download(self, resolved: ResolvedVersion, location: str, path: str | None = None) -> Path:
        from mlflow.store.artifact.presigned_url_artifact_repo import (
            PresignedUrlArtifactRepository,
        )

        self.check_access(resolved, location)
        key = hashlib.sha256(f"{resolved.name}/{resolved.version}".encode()).hexdigest()[:32]
        target = self.cache_dir / key
        target.mkdir(parents=True, exist_ok=True)
        repository = PresignedUrlArtifactRepository(
            host_creds(self.host, self.caller), resolved.name, resolved.version
        )
        return Path(repository.download_artifacts(path or "", dst_path=str(target)))


def user_registry(settings: Settings, caller: Caller) -> Registry:
    host = _host(settings)
    unity_catalog = settings.registry_uri.startswith(UC_SCHEME)
    client: Any = (
        UnityCatalogClient(host, caller) if unity_catalog else UserRegistryClient(host, caller)
    )
    files = UnityCatalogFiles(host, caller, settings.app_data_dir / "model-files")
    return Registry(
        client,
        settings.registry_uri,
        user=caller.user,
        files=files,
        enforces_permissions=True,
        rights=UnityCatalogRights(host, caller),  # a workspace registry: a no, said why
    )
