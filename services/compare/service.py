"""Compare versions of one model on the same rows.

Each version is resolved, permission-checked and loaded for the caller on its own, and each
use is audited on its own (action ``compare``): comparing is predicting with every version.
All are checked before any predicts, so a version the caller may not use stops the
comparison before rows reach the others. Versions whose signatures differ each take the
columns they need from the same input; the answer says which columns differ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from services.access.audit import Source
from services.access.caller import Caller
from services.compare.agreement import NUMBERS, Tally
from services.errors import ConsoleError, InvalidInput, PermissionDenied, cut
from services.registry.access import ModelAccess
from services.scoring.payload import as_model_input
from services.scoring.service import ScoringService
from services.scoring.tables import BadRows

ACTION = "compare"
DEFAULT_REFS = ("Champion", "Challenger")
MAX_REFS = 4


@dataclass
class ComparedVersion:
    ref: str
    version: str
    alias: str | None
    columns: list[str]  # the input columns this version uses
    labels: dict[str, str] | None = None

    @property
    def shown_alias(self) -> str | None:
        """Its alias, or the reference it was asked by when that was not its number."""
        return self.alias or (self.ref if self.ref != self.version else None)

    @property
    def name(self) -> str:
        """As the page names it: ``v1 @Champion``, or ``v3``."""
        return self._named(" @")

    @property
    def column_suffix(self) -> str:
        """As a result file's columns name it, the same way: ``v1_Champion``, or ``v3``."""
        return self._named("_")

    def _named(self, before_alias: str) -> str:
        alias = self.shown_alias
        return f"v{self.version}" + (f"{before_alias}{alias}" if alias else "")


@dataclass
class Comparison:
    """The answer to a comparison, as the API sends it (``to_dict``)."""

    model: str
    versions: list[ComparedVersion]
    predictions: dict[str, list[Any]]
    tally: Tally
    latency_ms: float = 0.0
    shared_columns: list[str] = field(default_factory=list)
    differing_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.tally.rows

    @property
    def kind(self) -> str:
        return self.tally.kind or "classes"

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"mean_absolute_difference": self.tally.mean_absolute_difference}
        if self.kind != NUMBERS:
            extra = {"crosstab": self.tally.crosstab(self.versions[0].labels)}
        return {
            "model": self.model,
            "versions": [{"ref": v.ref, "version": v.version} for v in self.versions],
            "predictions": self.predictions,
            "agreement": self.tally.agreement,
            "disagreements": self.tally.disagreements,
            "rows": self.rows,
            "kind": self.kind,
            **extra,
            "shared_columns": self.shared_columns,
            "differing_columns": self.differing_columns,
            "latency_ms": self.latency_ms,
        }


def parse_refs(text: str | None) -> list[str] | None:
    """``Champion,Challenger`` → the references, or None when none were given."""
    refs = [ref.strip() for ref in (text or "").split(",") if ref.strip()]
    return refs or None


def column_differences(versions: list[ComparedVersion]) -> tuple[list[str], dict[str, list[str]]]:
    """The columns every version uses, and per version those only some use."""
    shared = [c for c in versions[0].columns if all(c in v.columns for v in versions)]
    differing = {v.ref: [c for c in v.columns if c not in shared] for v in versions}
    return shared, {ref: columns for ref, columns in differing.items() if columns}


def refused_for(error: ConsoleError, name: str, ref: str) -> ConsoleError:
    """The refusal, saying which of the compared versions it is about."""
    if not isinstance(error, PermissionDenied):
        return error
    return type(error)(
        f"Cannot compare: you may not use {cut(ref)} of {cut(name)}. {error.message}",
        hint="Compare versions you can use, or ask the model's owner for access to this one.",
    )


class CompareService:
    def __init__(self, scoring: ScoringService, access: ModelAccess) -> None:
        self.scoring = scoring
        self.access = access

    def refs_for(
        self, caller: Caller, name: str, refs: list[str] | None, source: Source
    ) -> list[str]:
        """The references asked for, else Champion and Challenger when the model has both."""
        if refs is None:
            aliases = self.access.model_detail(caller, name, source).summary.aliases
            if not all(alias in aliases for alias in DEFAULT_REFS):
                raise InvalidInput(
                    f"{cut(name)} has no Champion and Challenger aliases to compare by default.",
                    hint="Name the versions to compare, for example refs=1,2.",
                )
            refs = list(DEFAULT_REFS)
        refs = list(dict.fromkeys(refs))
        if not 2 <= len(refs) <= MAX_REFS:
            raise InvalidInput(
                f"Compare needs 2 to {MAX_REFS} different versions or aliases; got {len(refs)}.",
                hint="For example refs=Champion,Challenger.",
            )
        return refs

    def check(
        self, caller: Caller, name: str, refs: list[str], source: Source
    ) -> list[ComparedVersion]:
        """Every version resolved and authorised for the caller before any predicts; a
        refusal is audited and names the version."""
        versions = []
        for ref in refs:
            try:
                with self.scoring.look(caller, name, ref, source, action=ACTION) as use:
                    signature, resolved = use.model.signature, use.resolved
            except ConsoleError as error:
                raise refused_for(error, name, ref) from None
            columns = [c.name for c in signature.columns]
            versions.append(
                ComparedVersion(ref, resolved.version, resolved.alias, columns, use.model.labels)
            )
        return versions

    def compare(
        self, caller: Caller, name: str, refs: list[str] | None, payload: Any, *, source: Source
    ) -> Comparison:
        """Predict the same rows (a parsed JSON value in any accepted form) with each
        version; ``refs`` None: Champion and Challenger."""
        started = time.perf_counter()
        refs = self.refs_for(caller, name, refs, source)
        model_input = as_model_input(payload)
        versions = self.check(caller, name, refs, source)
        predictions: dict[str, list[Any]] = {}
        model = name
        for compared in versions:
            with self.scoring.use(caller, name, compared.ref, source, ACTION) as use:
                use.audited.rows = model_input.rows
                run = self.scoring.table(use, BadRows.REFUSE)
                predictions[compared.ref] = run.score(model_input).predictions()
                model = use.resolved.name
        tally = Tally(keep=model_input.rows)
        tally.add(list(predictions.values()))
        shared, differing = column_differences(versions)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return Comparison(model, versions, predictions, tally, latency_ms, shared, differing)
