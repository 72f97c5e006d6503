"""A Spark session for one job and one caller, what is shipped into it, and Spark's
failures in words.

Each job gets a session of its own (``create``, not ``getOrCreate``): its artifacts, tags
and temporary state belong to that job only, and stopping it releases them on the server.

- ``SPARK_REMOTE=sc://host:15002``: a Spark Connect server (open-source Spark, or a cluster
  behind a proxy). The server reads and writes with its own identity, which is why
  ``locations.check_allowed`` runs first.
- ``SPARK_REMOTE=databricks``: Databricks Connect, serverless, built with the *caller's own*
  token (``X-Forwarded-Access-Token`` in a Databricks App), so Unity Catalog decides what
  the user may read and write. ``databricks-connect`` is not installed here: that branch is
  designed and documented, not exercised by the tests.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from services.access.caller import Caller
from services.errors import ConsoleError, InvalidInput, PermissionDenied, cut, job_cancelled
from services.settings import Settings

DATABRICKS = "databricks"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the services package, shipped whole
# A lost server fails the job in seconds (pyspark's default waits about ten minutes).
RETRIES = {"max_retries": 4, "initial_backoff": 200, "backoff_multiplier": 2.0, "max_backoff": 2000}


class SparkUnavailable(ConsoleError):
    error_code = "SPARK_UNAVAILABLE"
    http_status = 503
    title = "Spark unreachable"


class SparkJobFailed(ConsoleError):
    error_code = "SPARK_JOB_FAILED"
    http_status = 500
    title = "The Spark job failed"


def open_session(settings: Settings, caller: Caller) -> Any:
    """A new session for one job, with arrow on (off, pandas 3 turns a missing text into the
    string 'nan') and batches the size of the console's chunks."""
    if settings.spark_remote == DATABRICKS:
        session = _databricks_session(settings, caller)
    else:
        from pyspark.sql import SparkSession
        from pyspark.sql.connect.client.retries import DefaultPolicy

        session = SparkSession.builder.remote(settings.spark_remote).create()
        session.client.set_retry_policies([DefaultPolicy(**RETRIES)])
    with spark_errors(settings):
        session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        session.conf.set(
            "spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.predict_chunk_rows)
        )
        # Scoring costs CPU, not reading: smaller splits than Spark's 128 MB keep every
        # core busy, show progress in finer steps and let a cancel land sooner.
        session.conf.set("spark.sql.files.maxPartitionBytes", "16m")
        session.conf.set("spark.sql.files.openCostInBytes", "1m")
    return session


def _databricks_session(settings: Settings, caller: Caller) -> Any:
    """Serverless Databricks Connect as the caller: never the app's service principal (its
    variables are always set in an App, so the token is passed explicitly, auth type pat)."""
    if not caller.token or not settings.databricks_host:
        raise PermissionDenied(
            "Spark jobs on Databricks run with your own token, and this request has none.",
            hint="Turn on user authorization for the app (scopes for SQL and clusters).",
        )
    from databricks.connect import DatabricksSession  # type: ignore[import-not-found]
    from databricks.sdk.core import Config  # type: ignore[import-not-found]

    config = Config(host=settings.databricks_host, token=caller.token, auth_type="pat")
    return DatabricksSession.builder.sdkConfig(config).serverless(True).create()


def ship_model(session: Any, files: Path, work: Path, name: str) -> str:
    """The loaded model's folder, zipped and added as an archive: executors unpack it and
    load it with ``SparkFiles.get(name)``; nobody on the cluster asks the registry."""
    archive = work / name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(files.rglob("*")):
            if path.is_file() and path.name != ".complete":
                bundle.write(path, path.relative_to(files).as_posix())
    session.addArtifacts(str(archive), archive=True)
    return name


def ship_code(session: Any) -> None:
    """The console's ``services`` package, so executors run the very same scoring code."""
    session.addArtifacts(str(_code_zip()), pyfile=True)


@functools.cache
def _code_zip() -> Path:
    """Built once per process; named by its content, so a changed tree is a new file."""
    sources = sorted(p for p in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"model-console-services-{digest}.zip"
    if not target.exists():
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sources:
                bundle.write(path, path.relative_to(PACKAGE_ROOT.parent).as_posix())
        shutil.move(partial, target)
    return target


class spark_errors:  # a context manager that reads as a phrase
    """Spark's and gRPC's exceptions as ConsoleErrors; ours pass through."""

    def __init__(self, settings: Settings) -> None:
        self.where = "Databricks" if settings.spark_remote == DATABRICKS else "the Spark server"

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: Any) -> bool:
        if error is None or isinstance(error, ConsoleError) or not isinstance(error, Exception):
            return False
        raise translate(error, self.where) from None


def translate(error: Exception, where: str = "the Spark server") -> ConsoleError:
    text = str(error)
    first = _first_line(text)
    if "OPERATION_CANCELED" in text or "OPERATION_CANCELLED" in text:
        return job_cancelled()
    if _unreachable(error, text):
        return SparkUnavailable(
            f"The job stopped: {where} cannot be reached (it stopped or the network is down). "
            "Nothing was published.",
            hint="Try again once Spark is back; the administrator can check SPARK_REMOTE.",
        )
    if "PATH_NOT_FOUND" in text or "TABLE_OR_VIEW_NOT_FOUND" in text:
        return InvalidInput(
            f"Spark cannot find the source: {cut(first, 200)}", hint="Check the path or table name."
        )
    if "PATH_ALREADY_EXISTS" in text or "TABLE_OR_VIEW_ALREADY_EXISTS" in text:
        return InvalidInput(
            "The destination already exists; a job never replaces data.",
            hint="Name a new path or table.",
        )
    return SparkJobFailed(
        f"Spark could not finish the job: {cut(_worker_message(text), 300)}",
        hint="Nothing was published. The server log has Spark's full message.",
    )


def _unreachable(error: Exception, text: str) -> bool:
    """The server gone (stopped, killed, network down) rather than a job that failed."""
    if type(error).__name__ == "RetriesExceeded":
        return True
    markers = (
        "StatusCode.UNAVAILABLE",
        "Connection refused",
        "failed to connect",
        "Socket closed",
        "GOAWAY",
        "Connection reset",
    )
    return any(marker in text for marker in markers)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")


def _worker_message(text: str) -> str:
    """A Python error raised inside a task: its last line says what went wrong (for our own
    errors, the message a user would have seen on this server)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("services.errors.") or "Error:" in line:
            return line.split(": ", 1)[-1]
    return lines[0] if lines else "unknown error"
