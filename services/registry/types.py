"""What the registry service returns: plain data, shared by the UI, the API and the services."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from services.registry.dependencies import (
    LoggedEnvironment,
    ModelEnvironment,
    check_environment,
)
from services.registry.signature import SignatureInfo


@dataclass(frozen=True)
class ResolvedVersion:
    """A reference pinned to one version. ``alias`` is set when the reference was an alias."""

    name: str
    version: str
    source: str
    run_id: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    version: str
    status: str
    created: str
    aliases: list[str]
    tags: dict[str, str]
    run_id: str | None
    source: str
    description: str
    stage: str | None = None


@dataclass(frozen=True)
class ModelSummary:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, str]
    updated: str


@dataclass(frozen=True)
class ModelDetail:
    summary: ModelSummary
    versions: list[VersionInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.summary), "versions": [asdict(v) for v in self.versions]}


@dataclass(frozen=True)
class VersionFiles:
    """What a version's files say about it; never changes for a given version."""

    signature: SignatureInfo
    input_example: list[dict[str, Any]] | None
    flavors: list[str]
    environment: LoggedEnvironment = field(default_factory=LoggedEnvironment)


@dataclass(frozen=True)
class VersionDetail:
    resolved: ResolvedVersion
    info: VersionInfo
    files: VersionFiles

    @property
    def signature(self) -> SignatureInfo:
        return self.files.signature

    @property
    def input_example(self) -> list[dict[str, Any]] | None:
        return self.files.input_example

    @property
    def environment(self) -> ModelEnvironment:
        """Checked when asked: what is installed here may change while the files cannot."""
        return check_environment(self.files.environment)

    def to_dict(self) -> dict[str, Any]:
        alias = {"alias": self.resolved.alias} if self.resolved.alias else {}
        return {
            "model": self.resolved.name,
            **alias,
            **asdict(self.info),
            "signature": self.signature.to_dict(),
            "input_example": self.input_example,
            "flavors": self.files.flavors,
            "environment": self.environment.to_dict(),
        }
