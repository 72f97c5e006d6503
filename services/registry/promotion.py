"""Promotion and rollback: a model's aliases and traffic split moved with the caller's own
rights, every attempt audited, every move kept so it can be rolled back.

A move is asked of the registry first (``can_manage``: a refusal changes nothing, is audited
and says what is missing), then made with the caller's own client (the registry checks
again), then written to ``AliasHistory`` in the same request: that write is what tells every
worker's caches the alias moved, and what a rollback reads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from services.access.audit import AuditedAction, AuditLog, Source
from services.access.caller import Caller
from services.errors import ConsoleError, InvalidInput, PermissionDenied, VersionNotFound, cut
from services.monitor.split import EXAMPLE, MAX_ARMS, SPLIT_TAG, TrafficSplit, parse_split
from services.registry.access import ModelAccess
from services.registry.alias_history import ALIAS, ROLLBACK, SPLIT, AliasHistory, AliasMove
from services.registry.client import LATEST, Registry
from services.registry.manage_rights import ManageVerdict
from services.registry.records import is_version_number

log = logging.getLogger(__name__)

MAX_ALIAS_LENGTH = 255
_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSION_LIKE = re.compile(r"^[vV]?\d+$")
SPLIT_TOTAL = 100
ALIAS_HINT = "Use letters, digits, '_' and '-', for example Champion, Staging or candidate-2."


class NothingToRollBack(ConsoleError):
    error_code = "NOTHING_TO_ROLL_BACK"
    http_status = 409
    title = "Nothing to roll back"


@dataclass(frozen=True)
class Evidence:
    """The latest evaluation of the versions a move is between, as the confirmation shows it:
    ``summary`` in words, ``id`` recorded with the move."""

    id: str
    summary: str


EvidenceFor = Callable[[Caller, str, tuple[str, ...]], Evidence | None]


def no_evidence(caller: Caller, name: str, versions: tuple[str, ...]) -> Evidence | None:
    """The seam for the evaluation service (issue 23's other half): the merge replaces this
    with its ``latest_evaluation(caller, name, versions)``; until then there is none."""
    return None


def alias_problem(alias: str) -> str | None:
    """Why ``alias`` cannot name an alias, in words (MLflow's rules, and ours: a number-like
    name would read as a version here); None when it can."""
    if not alias:
        return "An alias needs a name."
    if len(alias) > MAX_ALIAS_LENGTH:
        return f"An alias has at most {MAX_ALIAS_LENGTH} characters."
    if not _ALIAS.match(alias):
        return f"'{cut(alias, 40)}' is not an alias name: {ALIAS_HINT}"
    if alias.lower() == LATEST:
        return "'latest' always means the newest version, so it cannot be an alias."
    if _VERSION_LIKE.match(alias):
        return f"'{cut(alias, 40)}' reads as a version number, so it cannot be an alias."
    return None


@dataclass(frozen=True)
class Moved:
    """What a move did: ``previous`` is where the alias pointed before (None: it is new)."""

    alias: str
    version: str | None
    previous: str | None
    move: AliasMove

    def to_dict(self) -> dict[str, Any]:
        return {"alias": self.alias, "version": self.version, "previous": self.previous}


class PromotionService:
    def __init__(
        self,
        access: ModelAccess,
        history: AliasHistory,
        audit: AuditLog,
        evidence: EvidenceFor = no_evidence,
    ) -> None:
        self.access = access
        self.history = history
        self.audit = audit
        self.evidence = evidence

    def can_manage(self, caller: Caller, name: str) -> ManageVerdict:
        """Asked of the registry each time, with the caller's credentials (fail closed)."""
        self.access.check_allowed(name)
        return self.access.registry_for(caller).rights.verdict(name)

    def latest_evidence(self, caller: Caller, name: str, versions: tuple[str, ...]) -> Any:
        """The evaluation to show before a move, or None (none yet, or it cannot be read:
        the confirmation then says so, and the move is still the person's to make)."""
        try:
            return self.evidence(caller, name, versions)
        except ConsoleError:
            return None

    def set_alias(
        self, caller: Caller, name: str, alias: str, version: str, source: Source = Source.API
    ) -> Moved:
        """Point ``alias`` at ``version`` (a number): creates it or moves it. The evidence
        recorded with the move is the caller's latest evaluation of the two versions, found
        here: what a page or a client says it saw is never taken for it."""
        with self.audit.recording(caller, source, "alias", name, alias) as audited:
            registry = self._checked(caller, name, alias, "move")
            version = self._existing_version(registry, name, version)
            return self._move(caller, registry, name, alias, version, audited)

    def delete_alias(
        self, caller: Caller, name: str, alias: str, source: Source = Source.API
    ) -> Moved:
        with self.audit.recording(caller, source, "alias-delete", name, alias) as audited:
            registry = self._checked(caller, name, alias, "delete")
            previous = registry.alias_target(name, alias)
            if previous is None:
                raise VersionNotFound(f"{cut(name)} has no alias {cut(alias, 40)}.")
            audited.previous_version = previous
            self._as_caller(caller, name, "delete", lambda: registry.delete_alias(name, alias))
            move = self._recorded(AliasMove(name, alias, previous, None, caller.user))
            return Moved(alias, None, previous, move)

    def rollback(self, caller: Caller, name: str, alias: str, source: Source = Source.API) -> Moved:
        """Move ``alias`` back to where it pointed before its last move in the console."""
        with self.audit.recording(caller, source, "alias-rollback", name, alias) as audited:
            registry = self._checked(caller, name, alias, "move")
            target = self._undo_target(name, alias)
            if target is None:
                raise NothingToRollBack(
                    f"{cut(alias, 40)} of {cut(name)} has no earlier version to go back to.",
                    hint="Its history lists the moves made in the console; set the alias "
                    "to a version instead.",
                )
            version = self._existing_version(registry, name, target)
            return self._move(caller, registry, name, alias, version, audited, ROLLBACK)

    def rollback_target(self, caller: Caller, name: str, alias: str) -> str | None:
        """Where Roll back would take ``alias``, for a caller who may see the model."""
        self.access.model_detail(caller, name, Source.UI)
        return self._undo_target(name, alias)

    def _undo_target(self, name: str, alias: str) -> str | None:
        """The version Roll back goes to: before the newest move not yet undone. Each
        rollback undoes the move before it, so a second Roll back goes one move further
        back instead of undoing the first (None when nothing is left to undo)."""
        undone = 0
        for move in self.history.moves(name, alias):
            if move.kind == ROLLBACK:
                undone += 1
            elif undone:
                undone -= 1
            else:
                return move.from_version
        return None

    def alias_history(
        self, caller: Caller, name: str, alias: str | None = None, source: Source = Source.API
    ) -> list[AliasMove]:
        """Newest first. Whoever may see the model may see how its aliases moved."""
        self.access.model_detail(caller, name, source)
        return self.history.moves(name, alias)

    def set_split(
        self, caller: Caller, name: str, weights: Mapping[str, Any], source: Source = Source.API
    ) -> TrafficSplit:
        """The traffic split tag, written from ``{"Champion": 90, "Challenger": 10}``."""
        with self.audit.recording(caller, source, "split-edit", name, SPLIT_TAG):
            registry = self._checked(caller, name, None, "move")
            split = self._valid_split(registry, name, weights)
            raw = ",".join(f"{arm.ref}:{arm.weight}" for arm in split.arms)
            self._as_caller(
                caller, name, "move", lambda: registry.set_model_tag(name, SPLIT_TAG, raw)
            )
            self._recorded(AliasMove(name, SPLIT_TAG, None, raw, caller.user, kind=SPLIT))
            return split

    # -- the steps every change takes ------------------------------------------------------

    def _checked(self, caller: Caller, name: str, alias: str | None, what: str) -> Registry:
        """The caller's registry, once the name, the alias and the caller's right hold."""
        self.access.check_allowed(name)
        if alias is not None and (problem := alias_problem(alias)):
            raise InvalidInput(problem, hint=ALIAS_HINT)
        verdict = self.can_manage(caller, name)
        allowed = verdict.may_delete if what == "delete" else verdict.may_move
        if not allowed:
            raise _refused(caller, name, what, verdict.reason)
        return self.access.registry_for(caller)

    def _existing_version(self, registry: Registry, name: str, version: str) -> str:
        version = str(version).strip()
        if not is_version_number(version):
            raise InvalidInput(
                f"'{cut(version, 40)}' is not a version number.",
                hint='Send the version the alias should point to, for example "2".',
            )
        return registry.resolve(name, version).version  # VersionNotFound names the others

    def _move(
        self,
        caller: Caller,
        registry: Registry,
        name: str,
        alias: str,
        version: str,
        audited: AuditedAction,
        kind: str = ALIAS,
    ) -> Moved:
        previous = registry.alias_target(name, alias)
        between = tuple(v for v in (previous, version) if v)
        found = self.latest_evidence(caller, name, between) if kind == ALIAS else None
        evidence = found.id if found is not None else None
        audited.version, audited.alias = version, alias
        audited.previous_version, audited.evidence = previous, evidence
        self._as_caller(caller, name, "move", lambda: registry.set_alias(name, alias, version))
        move = self._recorded(
            AliasMove(name, alias, previous, version, caller.user, evidence=evidence, kind=kind)
        )
        return Moved(alias, version, previous, move)

    def _recorded(self, move: AliasMove) -> AliasMove:
        """The move in the history. It has happened in the registry already, so a history
        that cannot be written costs the record (logged), never the answer: the move is
        said as made, and other workers see it once their alias memory expires."""
        try:
            return self.history.record(move)
        except SQLAlchemyError as error:
            log.warning(
                "Alias move not recorded in the history (%s): %s", type(error).__name__, move
            )
            return move

    def _as_caller(self, caller: Caller, name: str, what: str, change: Callable[[], None]) -> None:
        """The registry has the last word: its refusal is said in the same terms."""
        try:
            change()
        except PermissionDenied as error:
            raise _refused(caller, name, what, error.message) from None

    def _valid_split(
        self, registry: Registry, name: str, weights: Mapping[str, Any]
    ) -> TrafficSplit:
        if not isinstance(weights, Mapping) or not weights:
            raise _bad_split("send each arm with its weight")
        if len(weights) > MAX_ARMS:
            raise _bad_split(f"a split has at most {MAX_ARMS} arms")
        for ref, weight in weights.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise _bad_split(f"the weight of {cut(str(ref), 40)} is not a whole number")
            registry.resolve(name, str(ref))  # an arm is an existing version or alias
        total = sum(weights.values())
        if total != SPLIT_TOTAL:
            raise _bad_split(f"the weights add up to {total}, not {SPLIT_TOTAL}")
        raw = ",".join(f"{ref}:{weight}" for ref, weight in weights.items())
        try:
            return parse_split(name, raw)
        except ConsoleError as error:
            raise _bad_split(error.message) from None


def _refused(caller: Caller, name: str, what: str, reason: str) -> PermissionDenied:
    doing = "delete aliases of" if what == "delete" else "move aliases or the traffic split of"
    return PermissionDenied(
        f"Permission denied: {caller.user} may not {doing} {cut(name)}. {reason}",
        hint="Nothing was changed. Ask the model's owner for the right named above.",
    )


def _bad_split(problem: str) -> InvalidInput:
    return InvalidInput(
        f"The traffic split cannot be saved: {problem}.",
        hint=f"Each arm an existing version or alias, weights whole numbers adding up to "
        f"{SPLIT_TOTAL}, like {EXAMPLE}.",
    )
