"""Evaluation against the truth: rows with a label column (a JSON batch, or an uploaded file
read in chunks) predicted by one to four versions on the one table path, each version's
figures set against the label, the first two compared on the same rows.

Every version is resolved and authorised for the caller before any predicts (a refusal names
the version and is audited); each is then one audited model use (action ``evaluate``) for
the whole input. A file is read once: each chunk is scored by every version and fed to the
``Evaluator`` (counts and sums, never rows), so memory stays flat whatever its size.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from services.access.audit import Source
from services.access.caller import Caller
from services.compare.files import union_signature
from services.compare.service import DEFAULT_REFS, MAX_REFS, CompareService, refused_for
from services.errors import ConsoleError, InvalidInput, PayloadTooLarge, cut
from services.evaluation.classes import Classes, class_key, model_classes
from services.evaluation.evaluator import (
    CLASSIFICATION,
    REGRESSION,
    Answers,
    EvaluatedVersion,
    Evaluator,
)
from services.files.csv_io import count_rows, iter_csv, read_csv_head
from services.files.observers import Progress
from services.files.service import FileService
from services.registry.promotion import Evidence
from services.registry.records import is_version_number
from services.scoring.payload import ModelInput, as_model_input
from services.scoring.prediction import PREDICTION_COLUMN, has_probabilities
from services.scoring.service import ModelUse
from services.scoring.tables import ERROR_COLUMN, BadRows, TableRun
from services.scoring.validation import likely_renames

if TYPE_CHECKING:
    from services.jobs.service import JobService

ACTION = "evaluate"
MAX_ROWS = 100_000  # a JSON request; a bigger table is an uploaded file and a job
LABEL_TAG = "console.label_column"


@dataclass
class Evaluation:
    """What an evaluation found (``body``: the API's answer) and how long it took."""

    model: str
    body: dict[str, Any]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.body, "seconds": round(self.seconds, 3)}


@dataclass
class Request:
    """What to evaluate: the references, the label column, an optional slice column."""

    refs: list[str] | None
    label: str
    slice_column: str | None = None


class EvaluationService:
    def __init__(self, compare: CompareService, files: FileService) -> None:
        self.compare = compare
        self.scoring = compare.scoring
        self.access = compare.access
        self.files = files
        self.jobs: JobService | None = None  # wired after the job system: latest_evaluation

    # -- what to evaluate -------------------------------------------------------------

    def refs_for(
        self, caller: Caller, name: str, refs: list[str] | None, source: Source
    ) -> list[str]:
        """The references asked for (one to four), else Champion and Challenger."""
        if refs is None:
            return self.compare.refs_for(caller, name, None, source)
        refs = list(dict.fromkeys(refs))
        if not 1 <= len(refs) <= MAX_REFS:
            raise InvalidInput(
                f"Evaluate 1 to {MAX_REFS} versions or aliases at once; got {len(refs)}.",
                hint=f"For example refs={','.join(DEFAULT_REFS)}.",
            )
        return refs

    def check(
        self, caller: Caller, name: str, refs: list[str], source: Source
    ) -> list[EvaluatedVersion]:
        """Every version resolved and authorised for the caller before any predicts."""
        versions = []
        for ref in refs:
            try:
                with self.scoring.look(caller, name, ref, source, action=ACTION) as use:
                    versions.append(EvaluatedVersion(ref, use.resolved.version, use.resolved.alias))
            except ConsoleError as error:
                raise refused_for(error, name, ref) from None
        return versions

    # -- evaluating ---------------------------------------------------------------------

    def evaluate(
        self, caller: Caller, name: str, request: Request, payload: Any, *, source: Source
    ) -> Evaluation:
        """JSON rows (any of the predict route's forms) that include the label column."""
        model_input = as_model_input(payload)
        frame = model_input.data
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput(
                "An evaluation needs rows with named columns, the label among them.",
                hint='Send records: [{"feature": 1.0, ..., "label": "yes"}].',
            )
        if len(frame) > MAX_ROWS:
            raise PayloadTooLarge(
                f"At most {MAX_ROWS:,} rows can be evaluated in one request.",
                hint="Upload the file and evaluate it as a job (POST …/evaluate/<file_id>).",
            )
        check_columns(request, [str(c) for c in frame.columns])
        chunk_rows = self.files.settings.predict_chunk_rows
        chunks = (
            frame.iloc[start : start + chunk_rows] for start in range(0, len(frame), chunk_rows)
        )
        return self._run(caller, name, request, chunks, source, None, len(frame))

    def evaluate_file(
        self,
        caller: Caller,
        name: str,
        request: Request,
        file_id: str,
        *,
        source: Source = Source.CSV,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Evaluation:
        """The caller's uploaded file, read once in chunks; ``on_progress`` after each (a
        job's report, where a cancel stops it)."""
        path = self.files.store.path(caller, file_id)
        check_columns(request, self.file_columns(caller, file_id))
        total = count_rows(path) if on_progress is not None else 0
        chunk_rows = self.files.settings.predict_chunk_rows

        def chunks(signature: Any) -> Iterator[pd.DataFrame]:
            yield from iter_csv(path, signature, chunk_rows, passthrough_as_text=True)

        return self._run(caller, name, request, chunks, source, on_progress, total)

    def file_columns(self, caller: Caller, file_id: str) -> list[str]:
        path = self.files.store.path(caller, file_id)
        return [str(c) for c in read_csv_head(path, None, 1).columns]

    def _run(
        self,
        caller: Caller,
        name: str,
        request: Request,
        chunks: Iterable[pd.DataFrame] | Callable[[Any], Iterable[pd.DataFrame]],
        source: Source,
        on_progress: Callable[[Progress], None] | None,
        total: int,
    ) -> Evaluation:
        started = time.perf_counter()
        refs = self.refs_for(caller, name, request.refs, source)
        checked = self.check(caller, name, refs, source)
        with contextlib.ExitStack() as stack:
            uses = [
                stack.enter_context(self.scoring.use(caller, name, v.ref, source, ACTION))
                for v in checked
            ]
            evaluator, runs = self._prepare(uses, checked, request)
            if callable(chunks):
                chunks = chunks(union_signature([use.model.signature for use in uses]))
            for chunk in chunks:
                evaluator.add(chunk, [_answers(run, chunk) for run in runs])
                for use, run in zip(uses, runs, strict=True):
                    use.audited.rows = run.rows
                if on_progress is not None:
                    on_progress(Progress(evaluator.seen, total, time.perf_counter() - started))
            refused = evaluator.none_evaluated()
            if refused is not None:
                raise refused  # inside the uses: each is audited as refused, not as done
        seconds = time.perf_counter() - started
        return Evaluation(uses[0].resolved.name, evaluator.result(), seconds)

    def _prepare(
        self, uses: list[ModelUse], checked: list[EvaluatedVersion], request: Request
    ) -> tuple[Evaluator, list[TableRun]]:
        """The evaluator for these versions' kind, and one table run per version (with
        probabilities where a classifier has them)."""
        models = [use.model for use in uses]
        fitted = [model_classes(model) for model in models]
        kind = _kind(models, fitted)
        classes = None
        versions = list(checked)
        runs = []
        if kind == CLASSIFICATION:
            known = [value for values in fitted if values for value in values]
            declared = next((m.labels for m in models if m.labels), None)
            classes = Classes(known, declared, fixed=bool(known) or bool(declared))
        for i, use in enumerate(uses):
            probabilities = (
                kind == CLASSIFICATION and fitted[i] is not None and has_probabilities(use.model)
            )
            runs.append(self.scoring.table(use, BadRows.MARK, probabilities))
            if probabilities and classes is not None:
                codes = [classes.code(class_key(value)) for value in fitted[i] or []]
                versions[i] = EvaluatedVersion(
                    checked[i].ref, checked[i].version, checked[i].alias, codes
                )
        evaluator = Evaluator(kind, request.label, versions, classes, request.slice_column)
        return evaluator, runs

    # -- suggestions and history --------------------------------------------------------

    def suggest_label(
        self, caller: Caller, name: str, ref: str, columns: list[str], source: Source = Source.CSV
    ) -> str | None:
        """The label column to offer first: the ``console.label_column`` tag (a version's
        wins over the model's), else a column of the training reference the model does not
        read (its target), else the only column of the file no version reads."""
        detail = self.access.version_detail(caller, name, ref, source)
        model_tags = self.access.model_detail(caller, name, source).summary.tags
        tagged = detail.info.tags.get(LABEL_TAG) or model_tags.get(LABEL_TAG)
        if tagged in columns:
            return tagged
        inputs = {c.name for c in detail.signature.columns}
        target = self._reference_target(caller, detail.resolved, inputs)
        if target in columns:
            return target
        unread = [c for c in columns if c not in inputs]
        lacking = [c.name for c in detail.signature.columns if c.name not in columns]
        misspelt = likely_renames(lacking, unread)
        unread = [c for c in unread if c not in misspelt]  # an input, not a label
        return unread[0] if len(unread) == 1 and not _names_an_identifier(unread[0]) else None

    def _reference_target(self, caller: Caller, resolved: Any, inputs: set[str]) -> str | None:
        """The first column of the training reference that is no input: what the model was
        trained to predict, when its owner logged it with the inputs."""
        from services.explain.reference import REFERENCE_FILE

        try:
            path = self.access.registry_for(caller).download(resolved, REFERENCE_FILE)
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        except Exception:  # no reference (or none readable): no suggestion from it
            return None
        return next((n for n in names if n not in inputs), None)

    def evidence(self, caller: Caller, name: str, versions: tuple[str, ...]) -> Evidence | None:
        """The latest evaluation covering ``versions``, as a promotion's confirmation shows
        it and its audit record names it (the job's id); None when there is none."""
        latest = self.latest_evaluation(caller, name, versions)
        return None if latest is None else Evidence(latest["job_id"], evidence_text(latest))

    def latest_evaluation(
        self, caller: Caller, name: str, versions: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The caller's latest finished evaluation job of ``name`` covering both versions
        (numbers, as the registry has them): each version's accuracy (a regressor: MAE),
        the file and when it finished. For the promotion's confirmation."""
        if self.jobs is None:
            return None
        from services.jobs.record import EVALUATE, SUCCEEDED

        for job in self.jobs.list(caller):  # newest first
            if job.kind != EVALUATE or job.state != SUCCEEDED or job.model != name:
                continue
            summary = (job.result or {}).get("evaluation_summary") or {}
            figures = {v["version"]: v for v in summary.get("versions", [])}
            if all(str(version) in figures for version in versions):
                return {
                    "job_id": job.job_id,
                    "model": name,
                    "file": job.source_name,
                    "finished": job.finished,
                    "kind": summary.get("kind"),
                    "rows": summary.get("rows"),
                    "versions": [figures[str(version)] for version in versions],
                    "summary": summary.get("summary"),
                }
        return None


def check_columns(request: Request, columns: list[str]) -> None:
    for what, column in (("label", request.label), ("slice", request.slice_column)):
        if column is not None and column not in columns:
            raise InvalidInput(
                f"The rows have no {what} column {cut(column)!r}.",
                hint="Name one of the columns: " + cut(", ".join(columns), 200),
            )


def _kind(models: list[Any], fitted: list[list[Any] | None]) -> str:
    """A classifier has classes (``classes_``) or declares class names; anything else is
    taken for a regressor. Versions of one kind only."""
    kinds = {
        CLASSIFICATION if classes is not None or model.labels else REGRESSION
        for model, classes in zip(models, fitted, strict=True)
    }
    if len(kinds) > 1:
        raise InvalidInput(
            "These versions are not of one kind: some are classifiers, some regressors.",
            hint="Evaluate classifiers together and regressors together.",
        )
    return kinds.pop()


def _answers(run: TableRun, chunk: pd.DataFrame) -> Answers:
    """One version's answers for a chunk, aligned with its rows."""
    scored = run.score(ModelInput(chunk)).frame()
    column = PREDICTION_COLUMN if PREDICTION_COLUMN in scored else scored.columns[-1]
    probabilities = None
    if run.probability_columns:
        probabilities = scored[run.probability_columns].to_numpy(dtype=float)
    problems = scored.get(ERROR_COLUMN)
    return Answers(scored[column], probabilities, problems)


def evidence_text(latest: dict[str, Any]) -> str:
    """``Version 2 (as Challenger): 97.3 % accuracy, version 1 (as Champion): 100.0 % on
    iris_labeled.csv (150 rows), 2026-12-06.`` followed by the comparison's sentence (which
    names the versions as they were evaluated), when there is one."""
    figures = []
    for entry in latest["versions"]:
        if entry.get("accuracy") is not None:
            figure = f"{100 * entry['accuracy']:.1f} % accuracy"
        elif entry.get("mae") is not None:
            figure = f"MAE {entry['mae']:.4g}"
        else:
            figure = "no figure"
        ref = entry.get("ref")
        role = f" (as {ref})" if ref and not is_version_number(ref) else ""  # aliases move on
        figures.append(f"version {entry['version']}{role}: {figure}")
    finished = latest.get("finished")
    when = f", {datetime.fromtimestamp(finished, UTC):%Y-%m-%d}" if finished else ""
    text = f"{', '.join(figures)} on {latest['file']} ({latest['rows'] or 0:,} rows){when}."
    text = text[0].upper() + text[1:]
    return f"{text} {latest['summary']}" if latest.get("summary") else text


def evaluation_summary(body: dict[str, Any]) -> dict[str, Any]:
    """What a job list and a promotion need of an evaluation: small, one line per version."""
    main = "accuracy" if body["kind"] == CLASSIFICATION else "mae"
    comparison = body.get("comparison") or {}
    return {
        "kind": body["kind"],
        "label": body["label"],
        "rows": body["rows"],
        "skipped_rows": body["skipped_rows"],
        "versions": [
            {"ref": v["ref"], "version": v["version"], main: v["metrics"].get(main)}
            for v in body["versions"]
        ],
        "summary": comparison.get("summary"),
    }


def _names_an_identifier(column: str) -> bool:
    """``id``, ``customer_id``, ``Order ID``, ``customerId``, ``uuid``, ``row_key``: a row's
    name, not a label."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column.strip()).lower()
    return re.fullmatch(r"(.*[\s_.-])?(id|uuid|guid|key)", spaced) is not None
