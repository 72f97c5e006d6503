"""What each kind of job does: checked when it is asked for (``prepare``: every refusal
happens in the request, before anything runs), then run by whichever runner takes it
(``run``: inside one audited model use, reporting progress after every chunk).

A kind plugs in by these two methods; the job system around them (record, quota, runners,
heartbeat, cancel, lost jobs, audit) is the same for all.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from services.access.audit import Source
from services.access.caller import Caller
from services.compare.files import CompareFiles
from services.compare.service import CompareService
from services.errors import InvalidInput
from services.files import results
from services.files.observers import Progress
from services.files.service import FileService, ScoredFile, ScoreOptions
from services.files.store import StoredFile
from services.jobs.record import (
    COMPARE,
    FROM_API,
    FROM_CSV,
    LOCAL,
    MINE,
    SCORE,
    SPARK,
    Job,
    new_job_id,
)
from services.jobs.running import JobRun
from services.scoring.probabilities import probability_columns
from services.scoring.service import ModelUse, ScoringService
from services.settings import Settings
from services.spark.backend import SparkBackend, SparkRun, TableProgress
from services.spark.locations import (
    Kind,
    Location,
    allowed_prefixes,
    check_allowed,
    parse_location,
)

SCORE_ACTION, TABLE_ACTION = "predict", "score-table"


class JobKind(Protocol):
    name: str

    def prepare(self, caller: Caller, name: str, ref: str, request: dict, origin: str) -> Job:
        """The job's record, once everything that can refuse it has been checked."""

    def run(self, run: JobRun) -> None:
        """Do the work; fill the record's summary, result and detail."""

    def discard(self, run: JobRun) -> None:
        """Remove what a finished run published, when the job must end without it."""


def audit_source(origin: str) -> Source:
    return Source.API if origin == FROM_API else Source.CSV


def _file(stored: StoredFile) -> dict[str, Any]:
    return {"file_id": stored.file_id, "filename": stored.filename, "size": stored.size}


def _summary(job: Job, rows: int, failed: int, seconds: float) -> dict[str, Any]:
    return {
        "model": job.model,
        "version": job.version,
        "alias": job.alias,
        "input_rows": rows,
        "failed_rows": failed,
        "seconds": round(seconds, 3),
    }


def _on_progress(run: JobRun):
    def report(progress: Progress) -> None:
        run.report(progress.done, progress.total)

    return report


class ScoreJobs:
    """A table scored: an uploaded file on this server (the CSV tab's Predict, the table
    panel, the API), or an upload, a path or a catalog table on Spark."""

    name = SCORE

    def __init__(self, settings: Settings, scoring: ScoringService, files: FileService) -> None:
        self.settings = settings
        self.scoring = scoring
        self.files = files
        self.backend = SparkBackend(settings, files.store) if settings.spark_remote else None
        self.prefixes = allowed_prefixes(settings.spark_allowed_locations)

    def prepare(self, caller: Caller, name: str, ref: str, request: dict, origin: str) -> Job:
        engine = self._engine(request.get("engine"))
        source = parse_location(request.get("source"))
        destination = parse_location(request.get("destination"), destination=True)
        chosen = results.result_format(request.get("format") or results.PARQUET)
        self._check_places(engine, source, destination)
        source_name, size = source.name, None
        if source.kind is Kind.UPLOAD:  # the caller's own, or "gone"
            stored = self.files.store.describe(caller, source.value)
            source_name, size = stored.filename, stored.size
        probabilities = bool(request.get("probabilities"))
        # refused here (audited), so nothing is queued or shipped for a caller who may not
        with self.scoring.look(caller, name, ref, audit_source(origin)) as use:
            resolved = use.resolved
            if probabilities:
                probability_columns(use.model)  # NoProbabilities, in words, now
        return Job(
            job_id=new_job_id(),
            owner=caller.user,
            kind=SCORE,
            origin=origin,
            model=resolved.name,
            ref=ref,
            version=resolved.version,
            alias=resolved.alias,
            engine=engine,
            source=source.text,
            destination=destination.text,
            format=chosen.name,
            source_name=source_name,
            options={
                "probabilities": probabilities,
                "every_format": bool(request.get("every_format")) and engine == LOCAL,
                "source_bytes": size,
            },
        )

    def run(self, run: JobRun) -> None:
        job = run.job
        action = SCORE_ACTION if job.origin == FROM_CSV else TABLE_ACTION
        source = parse_location(job.source)
        destination = parse_location(job.destination, destination=True)
        with self.scoring.use(
            run.caller, job.model, job.version, audit_source(job.origin), action
        ) as use:
            use.audited.job_input, use.audited.job_output = source.name, destination.name
            if job.engine == LOCAL:
                self._score_here(run, use, source)
            else:
                self._score_on_spark(run, use, source, destination)

    def _score_here(self, run: JobRun, use: ModelUse, source: Location) -> None:
        job = run.job
        options = ScoreOptions(
            result_format=job.format,
            every_format=job.options.get("every_format", False),
            probabilities=job.options.get("probabilities", False),
        )
        scored = self.files.score(use, source.value, options, _on_progress(run), job.job_id)
        job.summary = _summary(job, scored.rows, scored.failed_rows, scored.seconds)
        job.result = _scored_result(scored)
        job.detail = {"preview": scored.preview, "columns": scored.columns}

    def _score_on_spark(
        self, run: JobRun, use: ModelUse, source: Location, destination: Location
    ) -> None:
        assert self.backend is not None
        job = run.job

        def report(progress: TableProgress) -> None:
            with contextlib.suppress(Exception):  # a cancel is Spark's to stop (interruptTag)
                run.report(
                    progress.rows_done or 0,
                    progress.rows_total,
                    parts_done=progress.tasks_done,
                    parts_total=progress.tasks_total,
                )

        spark_run = SparkRun(
            use,
            run.caller,
            source,
            destination,
            results.result_format(job.format),
            job.job_id,
            report,
            run.cancelled,
        )
        outcome = self.backend.run(spark_run)
        use.audited.rows = outcome.rows
        job.summary = _summary(job, outcome.rows, outcome.failed_rows, outcome.seconds)
        kept = {"files": {job.format: _file(outcome.result_file)}} if outcome.result_file else {}
        job.result = {
            "location": outcome.location,
            **(_file(outcome.result_file) if outcome.result_file else {}),
            **kept,
        }
        run.report(outcome.rows, outcome.rows, **_parts_done(job.progress))

    def discard(self, run: JobRun) -> None:
        _remove_files(self.files, run)

    def _engine(self, raw: object) -> str:
        engine = (raw or (SPARK if self.backend else LOCAL)) if raw != "" else LOCAL
        if engine not in (SPARK, LOCAL):
            raise InvalidInput(
                "Unknown engine. Choose spark or local.",
                hint="local scores an uploaded file on this server.",
            )
        if engine == SPARK and self.backend is None:
            raise InvalidInput(
                "This console has no Spark backend.",
                hint="Use engine local, or ask the operator to set SPARK_REMOTE.",
            )
        return str(engine)

    def _check_places(self, engine: str, source: Location, destination: Location) -> None:
        """The local engine only reads uploads and keeps results in the user's area; Spark
        reads and writes only where the operator allows."""
        if engine == LOCAL and (
            source.kind is not Kind.UPLOAD or destination.kind is not Kind.MINE
        ):
            raise InvalidInput(
                "This server scores only uploaded files, into your own files.",
                hint="Use engine spark for paths and tables.",
            )
        private = str(self.settings.app_data_dir)
        check_allowed(source, self.prefixes, writing=False, private=private)
        check_allowed(destination, self.prefixes, writing=True, private=private)


def _parts_done(progress: dict[str, Any]) -> dict[str, Any]:
    total = progress.get("parts_total")
    return {"parts_done": total, "parts_total": total} if total else {}


def _scored_result(scored: ScoredFile) -> dict[str, Any]:
    summary = scored.summary()
    return {
        "location": "your files",
        **_file(scored.output),
        "files": {name: _file(out) for name, out in scored.outputs.items()},
        "predictions": summary["predictions"],
        "distribution": summary["distribution"],
        "confidence": summary["confidence"],
        "drift": summary["drift"],
        "labels": scored.labels,
    }


def _remove_files(files: FileService, run: JobRun) -> None:
    """A result published a moment before its job was cancelled or found lost goes again."""
    for stored in ((run.job.result or {}).get("files") or {}).values():
        with contextlib.suppress(Exception):
            files.store.remove(run.caller, stored["file_id"])


class CompareJobs:
    """An uploaded file through several versions: agreement, disagreeing rows, one
    prediction column per version."""

    name = COMPARE

    def __init__(self, compare: CompareService, compare_files: CompareFiles) -> None:
        self.compare = compare
        self.compare_files = compare_files

    def prepare(self, caller: Caller, name: str, ref: str, request: dict, origin: str) -> Job:
        source = parse_location(request.get("source"))
        if source.kind is not Kind.UPLOAD:
            raise InvalidInput(
                "A comparison reads an uploaded file.",
                hint='Upload it first (POST /api/uploads), then send "source": "upload:<id>".',
            )
        stored = self.compare_files.files.store.describe(caller, source.value)
        others = request.get("compare_with")
        others = [others] if isinstance(others, str) else others
        if not isinstance(others, list) or not all(isinstance(o, str) for o in others):
            raise InvalidInput(
                'Name the versions to compare with: "compare_with": ["Challenger"].',
                hint="Versions or aliases of the same model.",
            )
        where = audit_source(origin)
        refs = self.compare.refs_for(caller, name, [ref, *others], where)
        versions = self.compare.check(caller, name, refs, where)  # each refusal named, now
        return file_job(caller, COMPARE, origin, name, ref, versions[0], source, stored, refs)

    def run(self, run: JobRun) -> None:
        job = run.job
        compared = self.compare_files.compare_file(
            run.caller,
            job.model,
            job.options["refs"],
            parse_location(job.source).value,
            source=audit_source(job.origin),
            on_progress=_on_progress(run),
            owner=job.job_id,
        )
        job.summary = _summary(job, compared.tally.rows, 0, compared.seconds)
        job.result = {**compared.summary(), "files": {results.CSV: _file(compared.output)}}
        job.detail = {
            "preview": compared.preview,
            "columns": compared.columns,
            "labels": compared.versions[0].labels,
        }

    def discard(self, run: JobRun) -> None:
        _remove_files(self.compare_files.files, run)


def file_job(
    caller: Caller,
    kind: str,
    origin: str,
    name: str,
    ref: str,
    first: Any,
    source: Location,
    stored: StoredFile,
    refs: list[str],
    **options: Any,
) -> Job:
    """The record of a job over an uploaded file that every listed version scores on this
    server (compare, evaluate): ``first`` is the first version as checked."""
    return Job(
        job_id=new_job_id(),
        owner=caller.user,
        kind=kind,
        origin=origin,
        model=name,
        ref=ref,
        version=first.version,
        alias=first.alias,
        engine=LOCAL,
        source=source.text,
        destination=MINE,
        format=results.CSV,
        source_name=stored.filename,
        options={"refs": refs, "source_bytes": stored.size, **options},
    )
