"""The console's services for one app instance, built once from its settings and handed to
the Dash callbacks and the API (their two faces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachelib import SimpleCache

from services.access.audit import AuditLog
from services.access.identity import Identity
from services.caching import KeyValueCache
from services.compare.files import CompareFiles
from services.compare.service import CompareService
from services.explain.service import ExplainService
from services.files.service import FileService
from services.files.store import UserFiles
from services.jobs.seal import CallerSeal, caller_seal
from services.jobs.table_jobs import TableJobs
from services.jobs.table_store import JobStore
from services.jobs.tracker import JobTracker
from services.monitor.service import DriftService
from services.monitor.split import SplitService
from services.monitor.store import DriftStore
from services.monitor.traffic import TrafficService
from services.registry.access import ModelAccess
from services.registry.factory import registries_for
from services.scoring.batching import BatchSettings
from services.scoring.models import LoadedModel, ModelCache, ModelLoader
from services.scoring.service import ScoringService
from services.settings import Settings


@dataclass(eq=False)
class ConsoleServices:
    settings: Settings
    audit: AuditLog
    identity: Identity
    registry: ModelAccess
    models: ModelCache[LoadedModel]
    scoring: ScoringService
    files: FileService
    jobs: JobTracker
    seal: CallerSeal
    explain: ExplainService
    tables: TableJobs  # table jobs: uploaded files, paths and tables, locally or on Spark
    compare: CompareService
    compare_files: CompareFiles
    split: SplitService
    traffic: TrafficService
    drift: DriftService

    def health(self) -> dict[str, Any]:
        stats = self.models.stats
        return {
            "status": "ok",
            "registry": self.registry.shown_uri,
            "embedded_registry": self.settings.embedded_registry,
            "auth_mode": self.settings.auth_mode,
            "models_cached": len(self.models),
            "model_cache": {"hits": stats.hits, "misses": stats.misses, "loads": stats.loads},
        }

    def warm_up(self) -> None:
        """What a worker can prepare before its first request needs it (mode ``none``: the
        shared registry client). Raises what building it raises."""
        prepare = getattr(self.registry.registry_for, "warm_up", None)
        if prepare is not None:
            prepare()

    def after_fork(self) -> None:
        """In a forked job process: locks other threads held at the fork stay held there
        (the model cache's, the registry clients', the audit spool's, the cache's RLock), so
        the job gets fresh ones, and a cache of its own."""
        self.models.after_fork()
        self.scoring.loader.failures.after_fork()
        self.explain.after_fork()
        self.drift.after_fork()
        reset = getattr(self.registry.registry_for, "after_fork", None)
        if reset is not None:
            reset()
        self.audit.after_fork()
        fresh = SimpleCache()
        self.registry.use_cache(fresh)
        self.identity.sign_ins.cache = fresh


def build_services(
    settings: Settings, cache: KeyValueCache, audit: AuditLog | None = None
) -> ConsoleServices:
    audit = audit or AuditLog(settings.audit_url, settings.app_data_dir / "audit-spool")
    registry = ModelAccess(settings, registries_for(settings), cache, audit)
    models: ModelCache[LoadedModel] = ModelCache(settings.model_cache_size)
    batching = BatchSettings(settings.batch_window_ms / 1000, settings.batch_max_rows)
    scoring = ScoringService(settings, ModelLoader(registry, models, batching), audit)
    user_files = UserFiles(
        settings.app_data_dir / "files",
        settings.files_max_age_seconds,
        quota_bytes=settings.user_quota_bytes,
    )
    drift_store = DriftStore(settings.audit_url)
    drift = DriftService(scoring, registry, drift_store, settings.model_cache_size)
    files = FileService(settings, user_files, scoring, drift)
    compare = CompareService(scoring, registry)
    return ConsoleServices(
        settings=settings,
        audit=audit,
        identity=Identity(settings, cache, audit),
        registry=registry,
        models=models,
        scoring=scoring,
        files=files,
        jobs=JobTracker(user_files, settings.job_stall_seconds),
        seal=caller_seal(settings),
        explain=ExplainService(scoring, registry, settings.model_cache_size),
        tables=TableJobs(settings, scoring, files, JobStore(settings.app_data_dir / "table-jobs")),
        compare=compare,
        compare_files=CompareFiles(files, compare),
        split=SplitService(scoring, registry, cache, settings.alias_cache_seconds),
        traffic=TrafficService(audit, registry),
        drift=drift,
    )
