"""Drift for a caller: the version's training reference read with the caller's own registry
(the same check as loading the model), a tally per job, and the stored summaries."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from services.access.audit import Source
from services.access.caller import Caller
from services.explain.reference import NoReference, TrainingReference, read_reference
from services.monitor.drift import DriftTally
from services.monitor.periods import iso_utc
from services.monitor.store import DriftStore
from services.registry.access import ModelAccess
from services.scoring.models import CacheKey, ModelCache
from services.scoring.payload import parse_payload
from services.scoring.service import ModelUse, ScoringService
from services.scoring.validation import conform

log = logging.getLogger(__name__)


class DriftService:
    def __init__(
        self, scoring: ScoringService, access: ModelAccess, store: DriftStore, cache_size: int = 8
    ) -> None:
        self.scoring, self.access, self.store = scoring, access, store
        self.references: ModelCache[TrainingReference] = ModelCache(cache_size)

    def after_fork(self) -> None:
        self.references.after_fork()
        self.store.after_fork()

    def tally(self, caller: Caller, use: ModelUse) -> DriftTally | None:
        """A fresh tally against the version's reference; None when it has none (its
        scoring goes on without drift)."""
        # the use has just been authorised for this caller: asking again would cost a job a
        # second permission check (and could split it between two verdicts)
        registry = self.access.registry_for(caller)
        key = CacheKey(registry.uri, use.resolved.name, use.resolved.version)
        try:
            reference = self.references.get_or_load(
                key, lambda: read_reference(registry, use.resolved, use.model.signature)
            )
        except NoReference:
            return None
        return DriftTally.against(reference.frame, reference.describe())

    def keep(
        self, caller: Caller, use: ModelUse, tally: DriftTally, source: Source, label: str
    ) -> dict[str, Any]:
        """The job's summary, stored; a store that fails never costs the job its result (the
        summary is still answered, marked as not kept)."""
        summary = tally.summary()
        resolved = use.resolved
        try:
            self.store.add(resolved.name, resolved.version, caller.user, source, label, summary)
        except Exception as error:
            log.warning("drift summary not stored (%s)", type(error).__name__)
            summary["stored"] = False
        return summary

    def of_rows(
        self, caller: Caller, name: str, ref: str, payload: Any, source: Source = Source.API
    ) -> dict[str, Any] | None:
        """A JSON batch's drift, on request (kept like a file's, labelled "JSON batch"); None
        when the version has no reference to compare with."""
        with self.scoring.look(caller, name, ref, source, action="drift") as use:
            conformed = conform(parse_payload(payload), use.model.signature)
            tally = self.tally(caller, use)
            if tally is None or not isinstance(conformed.data, pd.DataFrame):
                return None
            tally.add(conformed.data)
            return self.keep(caller, use, tally, source, "JSON batch")

    def history(
        self,
        caller: Caller,
        name: str,
        ref: str,
        since: str | None = None,
        source: Source = Source.API,
    ) -> dict[str, Any]:
        """The stored summaries of one version, oldest first, for a caller who may use it."""
        with self.scoring.look(caller, name, ref, source, action="drift") as use:
            resolved = use.resolved
        stored = self.store.summaries(resolved.name, resolved.version, iso_utc(since))
        summaries = [_as_seen_by(caller, summary) for summary in stored]
        return {
            "model": resolved.name,
            "version": resolved.version,
            "alias": resolved.alias,
            "summaries": summaries,
        }


def _as_seen_by(caller: Caller, summary: dict[str, Any]) -> dict[str, Any]:
    """Everyone who may use the version sees every job's statistics; only the file's owner
    sees whose it was and its name (a file name can say more than a statistic)."""
    user = summary.pop("user", None)
    if user != caller.user:
        summary["label"] = "another user's file"
    summary["mine"] = user == caller.user
    return summary
