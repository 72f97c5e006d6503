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
from services.evaluation.jobs import EvaluateJobs
from services.evaluation.service import EvaluationService
from services.explain.service import ExplainService
from services.files.service import FileService
from services.files.store import UserFiles
from services.jobs.kinds import CompareJobs, JobKind, ScoreJobs
from services.jobs.record import INLINE, LOCAL, SPARK
from services.jobs.runners import CeleryRunner, ProcessRunner, ThreadRunner
from services.jobs.seal import SEAL_SECONDS, caller_seal
from services.jobs.service import JobService
from services.jobs.store import JobStore
from services.monitor.service import DriftService
from services.monitor.split import SplitService
from services.monitor.store import DriftStore
from services.monitor.traffic import TrafficService
from services.registry.access import ModelAccess
from services.registry.alias_history import AliasHistory
from services.registry.factory import registries_for
from services.registry.promotion import PromotionService
from services.run_history import RunHistory
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
    jobs: JobService  # every long task: files and tables scored, compared, evaluated
    explain: ExplainService
    compare: CompareService
    compare_files: CompareFiles
    split: SplitService
    traffic: TrafficService
    drift: DriftService
    evaluation: EvaluationService
    promotion: PromotionService  # aliases and the traffic split moved, with their history
    runs: RunHistory  # each person's JSON and form predictions, for every tab and device

    def health(self) -> dict[str, Any]:
        stats = self.models.stats
        return {
            "status": "ok",
            "registry": self.registry.shown_uri,
            "embedded_registry": self.settings.embedded_registry,
            "auth_mode": self.settings.auth_mode,
            "models_cached": len(self.models),
            "model_cache": {"hits": stats.hits, "misses": stats.misses, "loads": stats.loads},
            "jobs_runner": self.jobs.runners[LOCAL].name,
        }

    def warm_up(self) -> None:
        """What a worker can prepare before its first request needs it: the alias moves' and
        the runs' tables, and (mode ``none``) the shared registry client. Raises what
        building it raises. The job runner gets ready when a file for a job arrives
        (``JobService.expect_one``), not here: a fork server holds as much memory as a
        worker."""
        self.promotion.history.prepare()
        prepare = getattr(self.registry.registry_for, "warm_up", None)
        if prepare is not None:
            prepare()
        self.runs.prepare()

    def close(self) -> None:
        """At the process's end: the audit records waiting are stored."""
        self.audit.close()

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
        self.jobs.store.after_fork()
        self.promotion.history.after_fork()
        self.runs.after_fork()
        fresh = SimpleCache()
        self.registry.use_cache(fresh)
        self.identity.sign_ins.cache = fresh


def build_services(
    settings: Settings, cache: KeyValueCache, audit: AuditLog | None = None
) -> ConsoleServices:
    audit = audit or AuditLog(settings.audit_url, settings.app_data_dir / "audit-spool")
    registry = ModelAccess(settings, registries_for(settings), cache, audit)
    history = AliasHistory(settings.audit_url)
    registry.generation = history.generation  # a move anywhere: every cache asks again
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
    compare_files = CompareFiles(files, compare)
    evaluation = EvaluationService(compare, files)
    jobs = build_jobs(settings, scoring, files, compare, compare_files, evaluation)
    evaluation.jobs = jobs  # its latest_evaluation reads the caller's evaluate jobs
    return ConsoleServices(
        settings=settings,
        audit=audit,
        identity=Identity(settings, cache, audit),
        registry=registry,
        models=models,
        scoring=scoring,
        files=files,
        jobs=jobs,
        explain=ExplainService(scoring, registry, settings.model_cache_size),
        compare=compare,
        compare_files=compare_files,
        split=SplitService(scoring, registry, cache, settings.alias_cache_seconds),
        traffic=TrafficService(audit, registry),
        drift=drift,
        evaluation=evaluation,
        promotion=PromotionService(registry, history, audit, evidence=evaluation.evidence),
        runs=RunHistory(settings.audit_url, settings.history_size),
    )


def build_jobs(
    settings: Settings,
    scoring: ScoringService,
    files: FileService,
    compare: CompareService,
    compare_files: CompareFiles,
    evaluation: EvaluationService | None = None,
) -> JobService:
    """The job system: records in the audit database, a clean process per job here (or
    Celery workers with REDIS_URL), a thread driving Spark for Spark jobs."""
    store = JobStore(
        settings.audit_url,
        lost_seconds=settings.job_lost_seconds,
        queued_seconds=SEAL_SECONDS,
        kept_seconds=settings.files_max_age_seconds,
    )
    kinds: list[JobKind] = [
        ScoreJobs(settings, scoring, files),
        CompareJobs(compare, compare_files),
    ]
    if evaluation is not None:
        kinds.append(EvaluateJobs(evaluation))
    jobs = JobService(
        store,
        caller_seal(settings),
        files.store,
        kinds,
        settings.jobs_per_user,
        inline_bytes=settings.inline_job_bytes,
    )
    jobs.runners = {SPARK: ThreadRunner(jobs.execute, SPARK)}
    if settings.redis_url:  # the operator wants scoring off the web workers: all of it
        jobs.runners[LOCAL] = CeleryRunner(settings)
    else:
        jobs.runners[LOCAL] = ProcessRunner(settings, store, build_services)
        jobs.runners[INLINE] = ThreadRunner(jobs.execute, INLINE)
    return jobs
