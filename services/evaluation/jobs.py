"""The ``evaluate`` job kind: an uploaded file with a label column evaluated by one to four
versions, on the job system every kind shares (record, quota, runners, heartbeat, Cancel).
``prepare`` refuses in the request what can be refused (the file not the caller's, a column
it does not have, a version the caller may not use); ``run`` reports after every chunk."""

from __future__ import annotations

from typing import Any

from services.access.caller import Caller
from services.compare.service import parse_refs
from services.errors import InvalidInput
from services.evaluation.service import (
    EvaluationService,
    Request,
    check_columns,
    evaluation_summary,
)
from services.files.observers import Progress
from services.jobs.kinds import audit_source, file_job
from services.jobs.record import EVALUATE, Job
from services.jobs.running import JobRun
from services.spark.locations import Kind, parse_location


class EvaluateJobs:
    name = EVALUATE

    def __init__(self, evaluation: EvaluationService) -> None:
        self.evaluation = evaluation

    def prepare(self, caller: Caller, name: str, ref: str, request: dict, origin: str) -> Job:
        """``ref``: the first version; ``request``: ``source`` (upload:<id>), ``label``,
        optionally ``compare_with`` (more references) and ``slice``."""
        source = parse_location(request.get("source"))
        if source.kind is not Kind.UPLOAD:
            raise InvalidInput(
                "An evaluation reads an uploaded file.",
                hint='Upload it first (POST /api/uploads), then send "source": "upload:<id>".',
            )
        stored = self.evaluation.files.store.describe(caller, source.value)
        wanted = _request(ref, request)
        columns = self.evaluation.file_columns(caller, stored.file_id)
        check_columns(wanted, columns)
        where = audit_source(origin)
        refs = self.evaluation.refs_for(caller, name, wanted.refs, where)
        versions = self.evaluation.check(caller, name, refs, where)  # each refusal named
        return file_job(
            caller,
            EVALUATE,
            origin,
            name,
            ref,
            versions[0],
            source,
            stored,
            refs,
            label=wanted.label,
            slice=wanted.slice_column,
        )

    def run(self, run: JobRun) -> None:
        job = run.job

        def report(progress: Progress) -> None:
            run.report(progress.done, progress.total)

        evaluation = self.evaluation.evaluate_file(
            run.caller,
            job.model,
            Request(job.options["refs"], job.options["label"], job.options.get("slice")),
            parse_location(job.source).value,
            source=audit_source(job.origin),
            on_progress=report,
        )
        body = evaluation.body
        job.summary = {
            "model": job.model,
            "version": job.version,
            "alias": job.alias,
            "input_rows": body["rows"] + body["skipped_rows"],
            "failed_rows": body["skipped_rows"],
            "seconds": round(evaluation.seconds, 3),
        }
        # the list of jobs carries the small summary; the record's detail, the whole body
        job.result = {"evaluation_summary": evaluation_summary(body)}
        job.detail = {"evaluation": {"model": evaluation.model, **body}}

    def discard(self, run: JobRun) -> None:
        """Nothing is published: the evaluation lives in the record only."""


def _request(ref: str, request: dict[str, Any]) -> Request:
    label = request.get("label")
    if not isinstance(label, str) or not label:
        raise InvalidInput(
            'Name the label column: "label": "<column with the true values>".',
            hint="The column of the file that holds what the model should have answered.",
        )
    others = request.get("compare_with") or []
    if isinstance(others, str):
        others = parse_refs(others) or []
    if not isinstance(others, list) or not all(isinstance(o, str) for o in others):
        raise InvalidInput(
            'Name the other versions as a list: "compare_with": ["Challenger"].',
            hint="Versions or aliases of the same model.",
        )
    chosen = request.get("slice") or None
    if chosen is not None and not isinstance(chosen, str):
        raise InvalidInput('"slice" names one column.')
    return Request([ref, *others], label, chosen)
