"""One MLflow Model Registry, seen with one caller's credentials, as plain data.

Resolves references (version number, alias, legacy stage, ``latest``), reads metadata and
fetches a version's files. Every MLflow failure leaves this module as one of our own errors
with a message written for the user.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from services.access.caller import LOCAL_USER
from services.errors import (
    ConsoleError,
    FilesOutOfReach,
    InvalidInput,
    ModelNotFound,
    PermissionDenied,
    RegistryUnavailable,
    Unauthenticated,
    VersionNotFound,
    cut,
    permission_denied,
)
from services.registry.dependencies import read_logged_environment
from services.registry.manage_rights import EveryoneManages, ManageRights
from services.registry.records import (
    MAX_VERSION,
    aliases_of,
    display_uri,
    example_records,
    is_unreachable,
    is_version_number,
    listed,
    logged_model_id,
    name_problem,
    own_file,
    quoted,
    timestamp,
)
from services.registry.signature import describe_signature
from services.registry.types import (
    ModelDetail,
    ModelSummary,
    ResolvedVersion,
    VersionFiles,
    VersionInfo,
)

LEGACY_STAGES = {"staging": "Staging", "production": "Production", "archived": "Archived"}
LATEST = "latest"
MAX_MODELS_LISTED = 1000
NAME_HINT = (
    "Model names look like catalog.schema.model (Unity Catalog) or iris_classifier, "
    "without '/' or ':'. Pick one from the list."
)


class ModelFiles(Protocol):
    """A version's files fetched with one caller's own credentials (an MLflow server's
    artifact proxy, Unity Catalog); without one, MLflow's default download is used."""

    def handles(self, location: str) -> bool: ...

    def check_access(self, resolved: ResolvedVersion, location: str) -> None: ...

    def download(self, resolved: ResolvedVersion, location: str, path: str | None) -> Path: ...


class Registry:
    """A registry reached through an ``MlflowClient``-like client that carries one caller's
    credentials."""

    def __init__(
        self,
        client: Any,
        uri: str,
        *,
        user: str = LOCAL_USER,
        files: ModelFiles | None = None,
        enforces_permissions: bool = False,
        rights: ManageRights | None = None,
    ) -> None:
        self.client = client
        self.rights: ManageRights = rights or EveryoneManages()
        self.uri = uri
        self.user = user
        self.shown_uri = display_uri(uri)
        self.files = files
        self.enforces_permissions = enforces_permissions

    @contextlib.contextmanager
    def _translated(self, name: str | None = None) -> Iterator[None]:
        """Turn MLflow's failures into our errors; our own errors pass through."""
        from mlflow.exceptions import MlflowException

        problem = name_problem(name) if name is not None else None
        if problem:
            raise InvalidInput(problem, hint=NAME_HINT)
        try:
            yield
        except ConsoleError:
            raise
        except MlflowException as exc:
            raise self._translate(exc, name) from None
        except Exception as exc:
            if is_unreachable(exc) or type(exc).__module__.startswith(("sqlalchemy", "requests")):
                raise self._unreachable() from None
            raise

    def _unreachable(self) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"Cannot reach the model registry at {self.shown_uri}.",
            hint="Check MLFLOW_TRACKING_URI and that the registry server is running, then retry.",
        )

    def _translate(self, exc: Any, name: str | None) -> ConsoleError:
        code = getattr(exc, "error_code", "")
        if code == "PERMISSION_DENIED":
            return permission_denied(self.user, name or "this registry")
        if code == "UNAUTHENTICATED":
            return Unauthenticated("The registry did not accept your credentials. Sign in again.")
        if code == "RESOURCE_DOES_NOT_EXIST" and name:
            return self._model_not_found(name)
        if code == "INVALID_PARAMETER_VALUE" and name:
            return InvalidInput(
                f"The registry does not take '{cut(name)}' as a model name.", hint=NAME_HINT
            )
        if is_unreachable(exc):
            return self._unreachable()
        return RegistryUnavailable(
            f"The model registry at {self.shown_uri} returned an error ({code or 'unknown'}).",
            hint="Retry in a moment; if it persists, contact the registry's administrator.",
        )

    # -- models ---------------------------------------------------------------------------

    def list_models(self) -> list[ModelSummary]:
        with self._translated():
            models = self.client.search_registered_models(max_results=MAX_MODELS_LISTED)
        return sorted((self._summary(model) for model in models), key=lambda m: m.name)

    def model_names(self) -> list[str]:
        return [model.name for model in self.list_models()]

    def get_model(self, name: str) -> ModelDetail:
        with self._translated(name):
            model = self.client.get_registered_model(name)
            versions = self.client.search_model_versions(f"name = '{quoted(name)}'")
        aliases_by_version: dict[str, list[str]] = {}
        for alias, version in aliases_of(model).items():
            aliases_by_version.setdefault(version, []).append(alias)
        infos = [
            self._version_info(v, aliases_by_version.get(str(v.version), [])) for v in versions
        ]
        infos.sort(key=lambda info: int(info.version), reverse=True)
        return ModelDetail(self._summary(model), infos)

    def _summary(self, model: Any) -> ModelSummary:
        return ModelSummary(
            name=model.name,
            description=model.description or "",
            tags=dict(listed(model, "tags") or {}),
            aliases=aliases_of(model),
            updated=timestamp(model.last_updated_timestamp),
        )

    def _model_not_found(self, name: str) -> ModelNotFound:
        suggestions = self._near_names(name)
        hint = (
            f"Did you mean {', '.join(suggestions)}?"
            if suggestions
            else "Use the full three-part name, for example main.ml_models.iris_classifier."
        )
        return ModelNotFound(
            f"No registered model named {name}.", hint=hint, suggestions=suggestions
        )

    def _near_names(self, name: str) -> list[str]:
        try:
            names = self.model_names()
        except ConsoleError:
            return []
        tail = name.rsplit(".", 1)[-1].lower()
        same_tail = [n for n in names if n.lower().rsplit(".", 1)[-1] == tail]
        likeness = {n: _likeness(name, n) for n in names}
        close = sorted((n for n in names if likeness[n] >= NEAR_NAME), key=lambda n: -likeness[n])
        return list(dict.fromkeys(same_tail + close))[:3]

    # -- versions -------------------------------------------------------------------------

    def resolve(self, name: str, ref: str) -> ResolvedVersion:
        """Pin ``ref`` (number, alias, ``latest`` or legacy stage) to one version of ``name``."""
        ref = (ref or "").strip() or LATEST
        with self._translated(name):
            if is_version_number(ref):
                if int(ref) > MAX_VERSION:
                    raise self._version_not_found(name, ref)
                return self._pinned(self._get_version(name, ref))
            if ref.lower() == LATEST:
                return self._pinned(self._latest(name))
            version = self._by_alias(name, ref)
            if version is not None:
                return self._pinned(version, alias=ref)
            version = self._by_stage(name, ref)
            if version is None:
                raise self._version_not_found(name, ref)
            return self._pinned(version)

    def _pinned(self, version: Any, alias: str | None = None) -> ResolvedVersion:
        return ResolvedVersion(
            name=version.name,
            version=str(version.version),
            source=version.source,
            run_id=version.run_id or None,
            alias=alias,
        )

    def _get_version(self, name: str, number: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(name, number)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                self.client.get_registered_model(name)  # raises model-not-found first
                raise self._version_not_found(name, number) from None
            raise

    def _latest(self, name: str) -> Any:
        versions = self.client.search_model_versions(f"name = '{quoted(name)}'")
        if not versions:
            self.client.get_registered_model(name)
            raise VersionNotFound(f"Model {name} has no versions yet.")
        return max(versions, key=lambda v: int(v.version))

    def _by_alias(self, name: str, alias: str) -> Any | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
                self.client.get_registered_model(name)
                return None
            raise

    def _by_stage(self, name: str, ref: str) -> Any | None:
        """The newest version in a legacy stage, read from the versions' records:
        ``get_latest_versions`` is deprecated, and registries without stages (Unity Catalog)
        refuse it, while a version's ``current_stage`` is simply empty there."""
        stage = LEGACY_STAGES.get(ref.lower())
        if stage is None:
            return None
        versions = self.client.search_model_versions(f"name = '{quoted(name)}'")
        staged = [v for v in versions if (v.current_stage or "").lower() == stage.lower()]
        return max(staged, key=lambda v: int(v.version), default=None)

    def _version_not_found(self, name: str, ref: str) -> VersionNotFound:
        model = self.client.get_registered_model(name)
        versions = self.client.search_model_versions(f"name = '{quoted(name)}'")
        numbers = sorted((str(v.version) for v in versions), key=int)
        aliases = sorted(aliases_of(model).items())
        kind = "Version" if is_version_number(ref) else "Alias"
        listed = ", ".join(numbers) or "none"
        named = ", ".join(f"{a} → {v}" for a, v in aliases) or "none"
        return VersionNotFound(
            f"{kind} {cut(ref)} of {name} does not exist. Versions: {listed}; aliases: {named}.",
            hint="Pick one of these, or use 'latest' for the newest version.",
            suggestions=[alias for alias, _ in aliases] + numbers[::-1],
        )

    def tags(self, resolved: ResolvedVersion) -> dict[str, str]:
        """The registered model's tags with the version's on top (a version's tag wins)."""
        with self._translated(resolved.name):
            model = self.client.get_registered_model(resolved.name)
            version = self.client.get_model_version(resolved.name, resolved.version)
        return {**dict(listed(model, "tags") or {}), **dict(version.tags or {})}

    def describe_version(self, resolved: ResolvedVersion) -> VersionInfo:
        with self._translated(resolved.name):
            version = self.client.get_model_version(resolved.name, resolved.version)
        return self._version_info(version, list(version.aliases or []))

    def _version_info(self, version: Any, aliases: list[str]) -> VersionInfo:
        stage = getattr(version, "current_stage", None)
        return VersionInfo(
            version=str(version.version),
            status=str(version.status or ""),
            created=timestamp(version.creation_timestamp),
            aliases=sorted(aliases),
            tags=dict(listed(version, "tags") or {}),  # none in Unity Catalog's search results
            run_id=version.run_id or None,
            source=version.source or "",
            description=version.description or "",
            stage=stage if stage and stage != "None" else None,
        )

    # -- aliases and tags: moved with the caller's own rights -----------------------------

    def alias_target(self, name: str, alias: str) -> str | None:
        """The version ``alias`` points to now, asked afresh (None: no such alias)."""
        with self._translated(name):
            version = self._by_alias(name, alias)
        return None if version is None else str(version.version)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        with self._translated(name):
            self.client.set_registered_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        with self._translated(name):
            self.client.delete_registered_model_alias(name, alias)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        with self._translated(name):
            self.client.set_registered_model_tag(name, key, value)

    # -- files ----------------------------------------------------------------------------

    def download(self, resolved: ResolvedVersion, path: str | None = None) -> Path:
        """Local path of the version's files (or of one file in them, which must be one of
        its own: ``path`` comes from the model's MLmodel)."""
        import mlflow

        if path is not None and not own_file(path):
            raise PermissionDenied("The model's description names a file outside its own files.")
        with self._translated(resolved.name):
            location = self.files_location(resolved)
            if self._proxied(location):
                return self._as_caller(
                    resolved, lambda: self.files.download(resolved, location, path)
                )
            self._refuse_ambient(resolved, location)
            uri = f"{location.rstrip('/')}/{path}" if path else location
            return Path(
                mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=self.uri)
            )

    def check_access(self, resolved: ResolvedVersion) -> None:
        """What loading the version needs, asked with the caller's credentials: the version
        itself (READ on the model) and its files (READ on the experiment that holds them)."""

        def check() -> None:
            with self._translated(resolved.name):
                self.client.get_model_version(resolved.name, resolved.version)
                location = self.files_location(resolved)
            if not self._proxied(location):
                self._refuse_ambient(resolved, location)
            elif self.files is not None:
                self.files.check_access(resolved, location)

        self._as_caller(resolved, check)

    def _refuse_ambient(self, resolved: ResolvedVersion, location: str) -> None:
        """Where every call acts as the caller, files the caller's credentials cannot fetch
        would be fetched with the console's own (an S3 bucket, a local path): refused, or a
        user with READ on a model could read whatever the console may."""
        if self.enforces_permissions:
            scheme = location.split(":", 1)[0] if ":" in location else "local"
            raise FilesOutOfReach(
                f"The files of {resolved.name} version {resolved.version} are at a {scheme} "
                "location, which this console could read only with its own credentials, "
                "not yours.",
                hint="Ask the model's owner to log it through the tracking server's artifact "
                "proxy (mlflow-artifacts:), which checks your own permission.",
            )

    def _proxied(self, location: str) -> bool:
        return self.files is not None and self.files.handles(location)

    def _as_caller(self, resolved: ResolvedVersion, action: Any) -> Any:
        try:
            return action()
        except FilesOutOfReach:
            raise
        except PermissionDenied:
            raise permission_denied(self.user, resolved.name, resolved.version) from None

    def files_location(self, resolved: ResolvedVersion) -> str:
        """Where the files live. ``models:/m-<id>`` names a logged model: ask its location,
        rather than letting MLflow resolve it against the process-wide registry URI."""
        model_id = logged_model_id(resolved.source)
        if model_id is None:
            return resolved.source
        return self.client.get_logged_model(model_id).artifact_location

    def version_files(self, resolved: ResolvedVersion) -> VersionFiles:
        """Signature, input example and flavors, read from the version's MLmodel file."""
        from mlflow.models import Model

        mlmodel = Model.load(self.download(resolved, "MLmodel"))
        return VersionFiles(
            signature=describe_signature(mlmodel.signature),
            input_example=self._input_example(resolved, mlmodel),
            flavors=sorted(mlmodel.flavors),
            environment=read_logged_environment(
                lambda name: self._optional_text(resolved, name), mlmodel
            ),
        )

    def _optional_text(self, resolved: ResolvedVersion, name: str) -> str | None:
        """One of the version's own small files, or None when it has none (or it cannot be
        read: the details are still worth showing without it)."""
        try:
            return self.download(resolved, name).read_text()
        except (ConsoleError, OSError, ValueError):
            return None

    def _input_example(self, resolved: ResolvedVersion, mlmodel: Any) -> list[dict] | None:
        example_info = getattr(mlmodel, "saved_input_example_info", None) or {}
        artifact = example_info.get("artifact_path")
        if not artifact:
            return None
        try:
            raw = json.loads(self.download(resolved, artifact).read_text())
        except (ConsoleError, OSError, ValueError):
            return None
        return example_records(raw)


NEAR_NAME = 0.6  # difflib's likeness from which a registered name is offered


def _likeness(asked: str, name: str) -> float:
    """How alike two model names are, on the parts that differ: every model of one schema
    shares ``main.ml_models.``, which made any of them look near any misspelt name."""
    asked, name = asked.lower(), name.lower()
    asked_schema, _, asked_tail = asked.rpartition(".")
    schema, _, tail = name.rpartition(".")
    parts = difflib.SequenceMatcher(None, asked_tail, tail).ratio()
    if asked_schema == schema:
        return parts
    whole = difflib.SequenceMatcher(None, asked, name).ratio()
    return max(whole, parts) if not asked_schema else whole  # a short name: either reading
