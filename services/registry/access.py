"""What one caller may see and use in the registry, asked with the caller's own credentials.

Resolving a reference pins it to a version: an alias is re-read ``alias_cache_seconds`` after
it moves in the registry, and at once after the console moved it, in whichever process (the
remembered answers are keyed by the generation of ``alias_history``). Authorising asks the
registry the question loading the files would (the verdict is remembered
``permission_cache_seconds``), so a model cached in this process for one user is never handed
to another who may not use it. Views of metadata are audited when refused.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from services.access.audit import AuditLog, Source
from services.access.caller import Caller
from services.caching import KeyValueCache, Remembered, cache_key
from services.errors import ModelNotAllowed, PermissionDenied, Unauthenticated, cut
from services.registry.client import Registry
from services.registry.factory import RegistryFor
from services.registry.records import display_uri
from services.registry.signature import placeholder_payload
from services.registry.types import ModelDetail, ModelSummary, ResolvedVersion, VersionDetail
from services.settings import Settings

T = TypeVar("T")
ALLOWED = "allowed"
EXAMPLE_ROWS = 3


class ModelAccess:
    def __init__(
        self, settings: Settings, registry_for: RegistryFor, cache: KeyValueCache, audit: AuditLog
    ) -> None:
        self.settings = settings
        self.registry_for = registry_for
        self.audit = audit
        self.resolutions = Remembered(cache, settings.alias_cache_seconds)
        self.verdicts = Remembered(cache, settings.permission_cache_seconds)
        self.files = Remembered(cache, settings.metadata_cache_seconds)
        # the console's own moves: set to AliasHistory.generation by build_services
        self.generation: Callable[[], int | None] = lambda: 0

    def use_cache(self, cache: KeyValueCache) -> None:
        for remembered in (self.resolutions, self.verdicts, self.files):
            remembered.cache = cache

    @property
    def shown_uri(self) -> str:
        return display_uri(self.settings.registry_uri)

    def list_models(self, caller: Caller) -> list[ModelSummary]:
        """The models the caller may see (the registry filters by the caller's rights) and
        the console may load (MODEL_ALLOW)."""
        return [m for m in self.registry_for(caller).list_models() if self.allows(m.name)]

    def model_detail(self, caller: Caller, name: str, source: Source) -> ModelDetail:
        with self.audit.recording_refusals(caller, source, "view", name, ""):
            self.check_allowed(name)
            return self.registry_for(caller).get_model(name)

    def resolve(self, caller: Caller, name: str, ref: str) -> ResolvedVersion:
        """Pin ``ref`` to a version of ``name`` with the caller's credentials."""
        self.check_allowed(name)
        registry = self.registry_for(caller)
        parts = ("resolve", caller.key, registry.uri, name, ref)
        resolved = self.since_moves(self.resolutions, parts, lambda: registry.resolve(name, ref))
        self.check_allowed(resolved.name)  # the registry's spelling of the name
        return resolved

    def since_moves(
        self, remembered: Remembered, parts: tuple[str, ...], compute: Callable[[], T]
    ) -> T:
        """An answer an alias move changes, remembered under the generation of the console's
        moves (asked only while such answers are remembered at all). While the moves cannot
        be read, nothing remembered is trusted: the answer is asked afresh."""
        if remembered.seconds <= 0:
            return compute()
        generation = self.generation()
        if generation is None:
            return compute()
        kind, *rest = parts
        return remembered.get_or_compute(cache_key(kind, str(generation), *rest), compute)

    def allows(self, name: str) -> bool:
        """Whether the operator lets the console load ``name`` (any, without MODEL_ALLOW).
        Unity Catalog names do not depend on case, so neither does the match."""
        patterns = self.settings.model_allow
        return not patterns or any(fnmatchcase(name.lower(), p.lower()) for p in patterns)

    def check_allowed(self, name: str) -> None:
        """Before the registry is asked, so a model outside the list never runs here."""
        if not self.allows(name):
            raise ModelNotAllowed(
                f"This console does not load {cut(name)}: its operator allows only models "
                f"named {', '.join(self.settings.model_allow)}.",
                hint="Pick a model from the list, or ask the operator to add it to MODEL_ALLOW.",
            )

    def authorize(self, caller: Caller, resolved: ResolvedVersion) -> Registry:
        """The caller's registry, once it has said this caller may use this version."""
        registry = self.registry_for(caller)
        if not registry.enforces_permissions:
            return registry
        key = cache_key("verdict", caller.key, registry.uri, resolved.name, resolved.version)
        verdict = self.verdicts.get_or_compute(key, lambda: _verdict(registry, resolved))
        if verdict != ALLOWED:
            raise verdict
        return registry

    def version_detail(self, caller: Caller, name: str, ref: str, source: Source) -> VersionDetail:
        with self.audit.recording_refusals(caller, source, "view", name, ref) as audited:
            resolved = self.resolve(caller, name, ref)
            audited.reached(resolved.name, resolved.version, resolved.alias)
            registry = self.authorize(caller, resolved)
            info = registry.describe_version(resolved)  # fresh: aliases and tags move
            key = cache_key("files", registry.uri, resolved.name, resolved.version)
            files = self.files.get_or_compute(key, lambda: registry.version_files(resolved))
            return VersionDetail(resolved, info, files)

    def demo_payload(self, caller: Caller, name: str, ref: str) -> Any:
        """A valid input for this version: its saved example, else one built from the
        signature."""
        detail = self.version_detail(caller, name, ref, Source.UI)
        if detail.input_example:
            example = detail.input_example[:EXAMPLE_ROWS]
            return example[0] if len(example) == 1 else example
        return placeholder_payload(detail.signature)


def _verdict(registry: Registry, resolved: ResolvedVersion) -> Any:
    """``ALLOWED``, or the refusal to raise (remembered like a yes)."""
    try:
        registry.check_access(resolved)
    except (PermissionDenied, Unauthenticated) as error:
        return error
    return ALLOWED
