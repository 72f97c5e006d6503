"""One table scored on Spark, from a model this app has already resolved, authorised and
loaded with the caller's credentials (``ScoringService.use``).

The data never passes through this process: Spark reads the source, each executor scores
its partitions with ``chunks.score_batches`` (the console's own ``TableRun``) and writes
the result. This process only scores a few sample rows (to fix the result's columns and
types before the job, and to fail early on a missing column), ships the model and the code,
watches progress and, for a result kept in the user's own area, joins the parts into one
downloadable file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from services.errors import InvalidInput
from services.files import results
from services.files.csv_io import delimiter_of
from services.files.store import StoredFile, UserFiles, human_size, result_name
from services.scoring.service import ModelUse
from services.scoring.tables import ERROR_COLUMN, BadRows, TableRun
from services.settings import Settings
from services.spark import assemble
from services.spark.chunks import (
    ChunkPlan,
    result_schema,
    result_types,
    score_batches,
    scored_frame,
)
from services.spark.locations import Kind, Location
from services.spark.session import open_session, ship_code, ship_model, spark_errors

SAMPLE_ROWS = 200
log = logging.getLogger(__name__)


@dataclass
class TableProgress:
    """Tasks done of all tasks of the running stage, and rows done estimated from them."""

    tasks_done: int
    tasks_total: int
    rows_total: int | None
    seconds: float

    @property
    def rows_done(self) -> int | None:
        if self.rows_total is None or not self.tasks_total:
            return None
        return int(self.rows_total * self.tasks_done / self.tasks_total)

    @property
    def eta_seconds(self) -> float | None:
        if not self.tasks_done or self.tasks_done >= self.tasks_total:
            return None
        return self.seconds * (self.tasks_total - self.tasks_done) / self.tasks_done


@dataclass
class TableResult:
    rows: int
    failed_rows: int
    seconds: float
    location: str  # where the result is, as the user may name it again
    result_file: StoredFile | None = None  # downloadable from the user's own area


@dataclass
class SparkRun:
    """What one job needs: who, which model, from where to where, and how to report."""

    use: ModelUse
    caller: Any
    source: Location
    destination: Location
    result_format: results.ResultFormat
    job_id: str
    on_progress: Callable[[TableProgress], None]
    cancelled: threading.Event


class SparkBackend:
    def __init__(self, settings: Settings, files: UserFiles) -> None:
        self.settings = settings
        self.files = files
        self.work_root = settings.app_data_dir / "spark"

    def run(self, job: SparkRun) -> TableResult:
        work = self.work_root / job.job_id
        work.mkdir(parents=True, exist_ok=True)
        session = open_session(self.settings, job.caller)
        try:
            with spark_errors(self.settings), _interrupting(session, job):
                return self._run(session, job, work)
        finally:
            with contextlib.suppress(Exception):
                session.stop()
            shutil.rmtree(work, ignore_errors=True)

    def _run(self, session: Any, job: SparkRun, work: Path) -> TableResult:
        started = time.monotonic()
        frame, csv_input = self._read(session, job)
        total = frame.count()
        if not total:
            raise InvalidInput("The source has no rows.", hint="Check the path or table name.")
        plan = self._plan(frame, job, csv_input)
        session.registerProgressHandler(_progress_reporter(job, total, started))
        ship_model(session, job.use.model.files or _missing_files(), work, plan.archive)
        ship_code(session)
        from pyspark.sql import Observation
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        scored = frame.mapInArrow(
            functools.partial(score_batches, plan), from_arrow_schema(plan.schema)
        )
        counts = Observation(f"counts-{job.job_id}")
        error = ERROR_COLUMN if ERROR_COLUMN in plan.schema.names else None
        # empty in a CSV result, null in Parquet, where the row was scored
        failed = F.count(F.when(F.col(f"`{error}`") != "", 1)) if error else F.lit(0)
        scored = scored.observe(counts, F.count(F.lit(1)).alias("rows"), failed.alias("failed"))
        location, result_file = self._write(scored, job, work, plan.schema.names)
        seen = counts.get
        return TableResult(
            int(seen["rows"]),
            int(seen["failed"]),
            time.monotonic() - started,
            location,
            result_file,
        )

    def _read(self, session: Any, job: SparkRun) -> tuple[Any, bool]:
        source = job.source
        if source.kind is Kind.TABLE:
            return session.read.table(source.value), False
        if source.kind is Kind.UPLOAD:
            path = self.files.path(job.caller, source.value)
            reader = session.read.option("sep", delimiter_of(path))
            return _csv_reader(reader).csv(str(path)), True
        if source.is_csv:
            return _csv_reader(session.read).csv(source.value), True
        return session.read.parquet(source.value), False

    def _plan(self, frame: Any, job: SparkRun, csv_input: bool) -> ChunkPlan:
        """A few rows scored here, on the same path: a missing column fails now, before
        anything is shipped, and the result's types are fixed for every executor."""
        sample = frame.limit(SAMPLE_ROWS).toArrow()
        model = job.use.model
        run = TableRun(model, BadRows.MARK, self.settings.predict_chunk_rows)
        scored = scored_frame(run, sample, csv_input)
        to_table = job.destination.kind is Kind.TABLE
        csv_output = job.result_format.name == results.CSV and not to_table
        types = result_types(scored, sample.schema, model, csv_input)
        return ChunkPlan(
            archive=f"model-{uuid.uuid4().hex[:12]}.zip",
            model=model.name,
            version=model.version,
            labels=model.labels,
            chunk_rows=self.settings.predict_chunk_rows,
            csv_input=csv_input,
            csv_output=csv_output,
            types=types,
            schema=result_schema(scored, types, csv_output),
        )

    def _write(
        self, scored: Any, job: SparkRun, work: Path, names: list[str]
    ) -> tuple[str, StoredFile | None]:
        target, fmt = job.destination, job.result_format
        if target.kind is Kind.TABLE:
            scored.write.mode("error").saveAsTable(target.value)
            return target.name, None
        parts = work / "parts" if target.kind is Kind.MINE else None
        where = str(parts) if parts else target.value
        local = Path(where) if where.startswith("/") else None
        # only a named destination can be another job's too: the parts folder is this job's
        claims = self.work_root / "claims" if parts is None else None
        with removed_unless_done(local, claims):
            writer = scored.write.mode("error")
            if fmt.name == results.CSV:
                writer = writer.option("escape", '"').option("header", parts is None)
                writer.csv(where)  # the parts get one header when joined
            else:
                writer.option("compression", "zstd").parquet(where)
        if parts is None:
            return target.name, None
        return "your files", self._keep(job, parts, names)

    def _result_name(self, job: SparkRun) -> str:
        """``<source>_with_predictions.<ext>``, after the uploaded file's own name."""
        source = job.source
        if source.kind is Kind.UPLOAD:
            stem = self.files.describe(job.caller, source.value).filename
        else:
            last = source.value.rstrip("/").rsplit("/", 1)[-1]
            stem = (
                last.rsplit(".", 1)[-1] if source.kind is Kind.TABLE else PurePosixPath(last).stem
            ) or "table"
        return result_name(stem, job.result_format.extension)

    def _keep(self, job: SparkRun, parts: Path, names: list[str]) -> StoredFile:
        """The parts joined into one file in the user's own area, published when complete."""
        size = assemble.parts_size(parts)
        limit = self.settings.spark_download_max_bytes
        if size > limit:
            raise InvalidInput(
                f"The result is {human_size(size)}, more than the {human_size(limit)} a result "
                "may take in your files.",
                hint="Name a destination (a path or table: under SPARK_ALLOWED_LOCATIONS).",
            )
        name = self._result_name(job)
        with self.files.writing(job.caller, name, job.job_id) as (file_id, handle):
            assemble.join(parts, handle, job.result_format.name, names)
        return self.files.describe(job.caller, file_id)


def _csv_reader(reader: Any) -> Any:
    """Every cell as text (``parse_cells`` reads them as an upload's are read); only an
    empty cell is missing. Not multi-line: a file stays split into many tasks, so a cell
    holding a line break is not supported on Spark (it is on this server)."""
    return (
        reader.option("header", True)
        .option("inferSchema", False)
        .option("encoding", "UTF-8")
        .option("escape", '"')
    )


def _missing_files() -> Path:
    raise InvalidInput(
        "This model's files are not on this server any more.",
        hint="Load the model again, then retry.",
    )


def _progress_reporter(job: SparkRun, total: int, started: float) -> Callable[..., None]:
    def report(**event: Any) -> None:
        stages = event.get("stages") or []
        done = sum(s.num_completed_tasks for s in stages)
        tasks = sum(s.num_tasks for s in stages)
        with contextlib.suppress(Exception):  # a report must never break the job
            job.on_progress(TableProgress(done, tasks, total, time.monotonic() - started))

    return report


@contextlib.contextmanager
def _interrupting(session: Any, job: SparkRun) -> Iterator[None]:
    """Every operation of the job carries its tag; a cancel interrupts them from a watcher
    thread (over Connect, ``interruptTag`` stops the job within a second)."""
    tag = f"console-job-{job.job_id}"
    session.addTag(tag)
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if job.cancelled.wait(0.3):
                with contextlib.suppress(Exception):
                    session.interruptTag(tag)
                return

    watcher = threading.Thread(target=watch, name=f"cancel-{job.job_id}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()


@contextlib.contextmanager
def removed_unless_done(path: Path | None, claims: Path | None) -> Iterator[None]:
    """A stopped job publishes nothing: what it left at a local destination goes (the
    destination did not exist before: Spark's ``error`` mode refused it otherwise).

    While a stopped job clears its destination, another job for the same destination waits
    to begin: what the clearing removes is then only ever the stopped job's."""
    if path is None:
        yield
        return
    with _destination_claim(path, claims, fcntl.LOCK_SH):
        existed = path.exists()
    try:
        yield
    except Exception as error:
        # someone else's job made it in the meantime (Spark's PATH_ALREADY_EXISTS): not ours
        if not existed and "ALREADY_EXISTS" not in str(error):
            with _destination_claim(path, claims, fcntl.LOCK_EX):
                remove_settled(path)
        raise
    except BaseException:  # the process is going: no time to watch for late tasks
        if not existed:
            shutil.rmtree(path, ignore_errors=True)
        raise


@contextlib.contextmanager
def _destination_claim(path: Path, claims: Path | None, kind: int) -> Iterator[None]:
    """A lock on ``path`` held by this server's processes (a file in ``claims``; none when
    no other job can name the same path)."""
    if claims is None:
        yield
        return
    claims.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    with open(claims / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, kind)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_settled(path: Path, quiet: float = 1.5, limit: float = 30.0) -> bool:
    """Removes ``path`` and keeps removing it until it has stayed gone for ``quiet``
    seconds (at most ``limit``); True when it did.

    A cancelled Spark job's tasks stop at their next batch, not at once, and a late task
    recreates the folder it writes into after the job has already failed."""
    deadline = time.monotonic() + limit
    gone_since = time.monotonic()
    while time.monotonic() < deadline:
        if path.exists():
            try:
                shutil.rmtree(path)
            except OSError as error:
                # a late task adding or removing files meanwhile: the next round goes on
                if error.errno not in (errno.ENOENT, errno.ENOTEMPTY):
                    log.warning("A stopped Spark job's files at %s stay: %s", path, error)
                    return False
            gone_since = time.monotonic()
        elif time.monotonic() - gone_since >= quiet:
            return True
        time.sleep(0.05)
    log.warning("A stopped Spark job kept writing into %s for %.0f s; left there", path, limit)
    return False
