"""Talking to an MLflow tracking server *as one user*, without process-wide credentials.

MLflow's client reads credentials from environment variables, which two users served at once
would race on. Instead each caller gets REST stores built with a ``get_host_creds`` that
returns that caller's own credentials, and model files come through the server's artifact
proxy (``/api/2.0/mlflow-artifacts``) with the caller's own HTTP credentials. No private MLflow
API is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import requests

from services.access.caller import Caller
from services.errors import PermissionDenied, RegistryUnavailable
from services.registry.records import display_uri

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
PROXIED_SCHEME = "mlflow-artifacts:"
TIMEOUT_SECONDS = 30


def host_creds(host: str, caller: Caller) -> Any:
    from mlflow.utils.rest_utils import MlflowHostCreds

    if caller.token:
        return MlflowHostCreds(host, token=caller.token)
    return MlflowHostCreds(host, username=caller.user, password=caller.password)


class UserRegistryClient:
    """The registry and tracking calls ``Registry`` makes, with one caller's credentials."""

    def __init__(self, host: str, caller: Caller) -> None:
        from mlflow.store.model_registry.rest_store import RestStore as RegistryStore
        from mlflow.store.tracking.rest_store import RestStore as TrackingStore

        creds = host_creds(host, caller)
        self.registry = RegistryStore(lambda: creds)
        self.tracking = TrackingStore(lambda: creds)

    def search_registered_models(self, max_results: int = 1000) -> list[Any]:
        return list(self.registry.search_registered_models(max_results=max_results))

    def get_registered_model(self, name: str) -> Any:
        return self.registry.get_registered_model(name)

    def search_model_versions(self, filter_string: str) -> list[Any]:
        return list(self.registry.search_model_versions(filter_string=filter_string))

    def get_model_version(self, name: str, version: str) -> Any:
        return self.registry.get_model_version(name, version)

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        return self.registry.get_model_version_by_alias(name, alias)

    def get_latest_versions(self, name: str, stages: list[str]) -> list[Any]:
        return self.registry.get_latest_versions(name, stages)

    def get_logged_model(self, model_id: str) -> Any:
        return self.tracking.get_logged_model(model_id)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.registry.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry.delete_registered_model_alias(name, alias)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        from mlflow.entities.model_registry import RegisteredModelTag

        self.registry.set_registered_model_tag(name, RegisteredModelTag(key, value))


def raise_for_access(response: requests.Response, host: str, denied: str) -> None:
    """401/403 → ``PermissionDenied(denied)``; other failures → registry unavailable."""
    if response.status_code in (401, 403):
        raise PermissionDenied(denied)
    if not response.ok:
        raise RegistryUnavailable(f"{display_uri(host)} answered {response.status_code}.")


class ProxiedFiles:
    """Model files behind the server's artifact proxy, read with the caller's credentials.

    Files are kept on disk per location once downloaded; every use still asks the server
    whether *this* caller may list them, so a copy fetched for one user never serves another
    who may not read it.
    """

    def __init__(
        self, host: str, caller: Caller, cache_dir: Path, keep_seconds: int = 24 * 3600
    ) -> None:
        self.host = host.rstrip("/")
        self.caller = caller
        self.cache_dir = cache_dir
        self.keep_seconds = keep_seconds
        self.session = requests.Session()
        if caller.token:
            self.session.headers["Authorization"] = f"Bearer {caller.token}"
        else:
            self.session.auth = (caller.user, caller.password or "")

    @staticmethod
    def handles(location: str) -> bool:
        return location.startswith(PROXIED_SCHEME)

    def _relative(self, location: str) -> str:
        """``mlflow-artifacts:/1/models/m-…/artifacts`` → ``1/models/m-…/artifacts``."""
        return urlparse(location).path.lstrip("/")

    def _get(self, url: str, **params: Any) -> requests.Response:
        try:
            response = self.session.get(url, params=params or None, timeout=TIMEOUT_SECONDS)
        except requests.RequestException:
            raise RegistryUnavailable(
                f"Cannot reach the MLflow server at {display_uri(self.host)}."
            ) from None
        raise_for_access(response, self.host, f"{self.caller.user} may not read these files.")
        return response

    def check_access(self, resolved: Any, location: str) -> None:
        """Raises ``PermissionDenied`` unless the caller may list the files."""
        self._entries(self._relative(location))

    def download(self, resolved: Any, location: str, path: str | None = None) -> Path:
        self.check_access(resolved, location)
        local = self.cache_dir / hashlib.sha256(location.encode()).hexdigest()[:32]
        if not (local / ".complete").exists():
            self._download_tree(location, local)
        (local / ".complete").touch()  # last used now: kept while in use
        return inside(local, path)

    def _download_tree(self, location: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        prune_model_files(self.cache_dir, self.keep_seconds)
        staging = Path(tempfile.mkdtemp(dir=local.parent, prefix=".partial-"))
        try:
            self._copy_dir(self._relative(location), "", staging)
            (staging / ".complete").touch()
            if not local.exists():
                os.replace(staging, local)  # whole or not at all, even with two downloads
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _entries(self, path: str) -> list[dict[str, Any]]:
        return self._get(f"{self.host}{ARTIFACTS_API}", path=path).json().get("files", [])

    def _copy_dir(self, root: str, sub: str, target: Path) -> None:
        for entry in self._entries(f"{root}/{sub}".rstrip("/")):
            name = str(entry.get("path", "")).rsplit("/", 1)[-1]
            if name in ("", ".", "..") or "\\" in name:
                continue  # a listing never names a place outside the folder it lists
            child = f"{sub}/{name}".lstrip("/")
            if entry.get("is_dir"):
                (target / child).mkdir(parents=True, exist_ok=True)
                self._copy_dir(root, child, target)
            else:
                url = f"{self.host}{ARTIFACTS_API}/{quote(f'{root}/{child}')}"
                (target / child).parent.mkdir(parents=True, exist_ok=True)
                (target / child).write_bytes(self._get(url).content)


def inside(root: Path, relative: str | None) -> Path:
    """``root / relative``, provided it stays inside ``root`` (a model's MLmodel names its
    own files, and could name ``../../anything``)."""
    if not relative:
        return root
    target = (root / relative).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise PermissionDenied("The model's description names a file outside its own files.")
    return target


def prune_model_files(cache_dir: Path, keep_seconds: int) -> None:
    """Downloaded model files not used for ``keep_seconds`` (and abandoned downloads) go."""
    cutoff = time.time() - keep_seconds
    if not cache_dir.is_dir():
        return
    for child in cache_dir.iterdir():
        marker = child / ".complete" if not child.name.startswith(".partial-") else child
        with contextlib.suppress(FileNotFoundError):
            if marker.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
