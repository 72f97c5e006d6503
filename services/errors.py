"""Errors written for the people who use the console.

Every failure a user can cause or meet is one of these types. Each carries a message that says
what is wrong and what to do, a stable ``error_code`` and the HTTP status the API answers with;
the UI renders the same message. Messages never echo the user's payload or a stack trace.
"""

from __future__ import annotations


def cut(text: str, limit: int = 80) -> str:
    """Someone's text (a name, a header) as a message shows it: at most ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConsoleError(Exception):
    """Base type: a message for the user, a machine-readable code and an HTTP status."""

    error_code = "INTERNAL_ERROR"
    http_status = 500
    title = "Something went wrong"

    def __init__(
        self, message: str, *, hint: str | None = None, suggestions: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.suggestions = suggestions or []  # what the user may have meant, to pick from

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error_code": self.error_code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.suggestions:
            body["suggestions"] = self.suggestions
        return body

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ModelNotFound(ConsoleError):
    error_code = "MODEL_NOT_FOUND"
    http_status = 404
    title = "Model not found"


class VersionNotFound(ConsoleError):
    error_code = "VERSION_NOT_FOUND"
    http_status = 404
    title = "Version or alias not found"


class FileGone(ConsoleError):
    error_code = "FILE_NOT_FOUND"
    http_status = 404
    title = "File not available"


class PermissionDenied(ConsoleError):
    error_code = "PERMISSION_DENIED"
    http_status = 403
    title = "Permission denied"


class FilesOutOfReach(PermissionDenied):
    """A version's files the caller's own credentials cannot fetch (only the console's)."""


class ModelNotAllowed(PermissionDenied):
    """A model outside the operator's MODEL_ALLOW: refused before the registry is asked."""

    error_code = "MODEL_NOT_ALLOWED"


class Unauthenticated(ConsoleError):
    error_code = "UNAUTHENTICATED"
    http_status = 401
    title = "Sign-in required"


class InvalidInput(ConsoleError):
    error_code = "INVALID_INPUT"
    http_status = 400
    title = "Input cannot be read"


class InvalidJson(InvalidInput):
    """JSON that does not parse, and where (1-based line and column, for an editor)."""

    def __init__(
        self, message: str, *, line: int = 1, column: int = 1, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.column = column


class SchemaMismatch(InvalidInput):
    error_code = "INVALID_SCHEMA"
    title = "Input does not match the model's signature"


class DimensionMismatch(SchemaMismatch):
    error_code = "DIMENSION_MISMATCH"
    title = "Dimension mismatch"


class ModelRejectedInput(InvalidInput):
    """The input matched the signature, and the model itself refused a value of it."""

    error_code = "MODEL_REJECTED_INPUT"
    http_status = 422
    title = "The model could not score this input"

    def __init__(self, message: str, *, hint: str | None = None, detail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.detail = detail or message  # the model's own words, for a row's error cell


class PayloadTooLarge(ConsoleError):
    error_code = "PAYLOAD_TOO_LARGE"
    http_status = 413
    title = "Input too large"


class UnsupportedMediaType(ConsoleError):
    error_code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415
    title = "Unsupported content type"


class RegistryUnavailable(ConsoleError):
    error_code = "REGISTRY_UNAVAILABLE"
    http_status = 503
    title = "Model registry unreachable"


class PredictionFailed(ConsoleError):
    error_code = "PREDICTION_FAILED"
    http_status = 500
    title = "The model failed to predict"


class ModelCannotLoad(ConsoleError):
    """A version whose files this console cannot turn into a working model: a package it
    needs, its files, or the MLflow it was logged with. 424 (Failed Dependency), not 503:
    nothing changes by retrying until someone installs a package or logs the model again, so
    clients must not retry it, and a proxy must not take the console (which still serves other
    models) for unavailable."""

    error_code = "MODEL_LOAD_FAILED"
    http_status = 424
    title = "The model cannot be loaded"


class ModelDependencyMissing(ModelCannotLoad):
    """A module the model imports (loading or predicting) that is not installed here."""

    error_code = "MODEL_DEPENDENCY_MISSING"
    title = "A package the model needs is not installed"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        module: str = "",
        requirement: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.module = module
        self.requirement = requirement  # the line the model was logged with, if it has one

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        if self.module:
            body["missing_module"] = self.module
        if self.requirement:
            body["requirement"] = self.requirement
        return body


class ModelFilesUnreadable(ModelCannotLoad):
    error_code = "MODEL_FILES_UNREADABLE"
    title = "The model's files cannot be read"


class ModelNeedsNewerMlflow(ModelCannotLoad):
    error_code = "MODEL_NEEDS_NEWER_MLFLOW"
    title = "The model needs a newer MLflow"


class JobFailed(ConsoleError):
    """A background scoring job that ended without a result of its own."""

    error_code = "JOB_FAILED"
    http_status = 500
    title = "Scoring stopped"


def permission_denied(user: str, model: str, version: str | None = None) -> PermissionDenied:
    """The one wording for every denial, in the UI and in the API."""
    what = f"{model} version {version}" if version else model
    return PermissionDenied(
        f"Permission denied: {user} cannot use {what}.",
        hint="Check the name (a registry may not say whether a model you cannot read "
        "exists); if it is right, ask an owner for READ on the model and its experiment "
        f"(MLflow), or for EXECUTE on it with USE CATALOG and USE SCHEMA (Unity Catalog: "
        f"GRANT EXECUTE ON FUNCTION {model} TO `{user}`; models are granted as functions).",
    )


class TooManyJobs(ConsoleError):
    error_code = "TOO_MANY_JOBS"
    http_status = 429
    title = "Jobs already running"


def too_many_jobs(limit: int) -> TooManyJobs:
    return TooManyJobs(
        f"You already have {limit} job{'s' if limit != 1 else ''} running; each person may "
        "run that many at once.",
        hint="Wait for one to finish (or cancel it under Prediction History → Your jobs), "
        "then start this one again.",
    )


class JobCancelled(ConsoleError):
    error_code = "JOB_CANCELLED"
    http_status = 409
    title = "Cancelled"


def job_cancelled() -> JobCancelled:
    return JobCancelled("The job was cancelled; nothing was published.")


class JobsUnavailable(ConsoleError):
    error_code = "JOBS_UNAVAILABLE"
    http_status = 503
    title = "Jobs cannot start"


def jobs_unavailable() -> JobsUnavailable:
    return JobsUnavailable(
        "The job could not be handed to a worker, so it was not started.",
        hint="Try again in a minute; if it keeps happening, tell the administrator (the job "
        "queue, REDIS_URL, may be down).",
    )


def job_database_unavailable() -> JobsUnavailable:
    return JobsUnavailable(
        "The job could not be recorded: the job database (the audit database) is busy or "
        "unreachable, so nothing was started.",
        hint="Try again in a minute; if it keeps happening, tell the administrator "
        "(AUDIT_DB_URL, or audit.db under APP_DATA_DIR).",
    )


class HistoryUnavailable(ConsoleError):
    error_code = "HISTORY_UNAVAILABLE"
    http_status = 503
    title = "History cannot be read"


def history_unavailable() -> HistoryUnavailable:
    return HistoryUnavailable(
        "Your prediction history could not be read or saved: the console's database (the "
        "audit database) is busy or unreachable.",
        hint="Predictions still work. Try again in a minute; if it keeps happening, tell the "
        "administrator (AUDIT_DB_URL, or audit.db under APP_DATA_DIR).",
    )


def scoring_job_broke() -> JobFailed:
    return JobFailed(
        "Scoring stopped with an unexpected error; no result was written.",
        hint="Try again; if it happens again, tell the administrator (see the server log).",
    )
