"""Every ``error_code`` the API answers, with its HTTP status: read from the ConsoleError
types themselves (so a new type is in the reference without anyone copying it), plus the
few answers written before or around the services (the request guard, routing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services import errors
from services.errors import ConsoleError
from services.explain.explainer import ExplanationFailed, ExplanationTooSlow
from services.explain.reference import NoReference
from services.files.store import QuotaExceeded, StorageFull
from services.jobs.record import JobNotFound, job_lost, job_waited_too_long
from services.monitor.split import NoSplit, SplitMisconfigured
from services.scoring.probabilities import NoProbabilities
from services.spark.session import SparkJobFailed, SparkUnavailable

# ConsoleError types defined outside services/errors.py: named here so that the catalogue
# does not depend on which modules happen to be imported already.
DEFINED_ELSEWHERE = (
    ExplanationFailed,
    ExplanationTooSlow,
    NoReference,
    QuotaExceeded,
    StorageFull,
    JobNotFound,
    NoSplit,
    SplitMisconfigured,
    NoProbabilities,
    SparkJobFailed,
    SparkUnavailable,
)


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    title: str

    @classmethod
    def of(cls, error: type[ConsoleError]) -> ErrorCode:
        return cls(error.error_code, error.http_status, error.title)


def _subclasses(base: type[ConsoleError]) -> Iterator[type[ConsoleError]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# Written by services/access/guard.py before a route runs, and by api/routes.py's handlers.
HOST_NOT_ALLOWED = ErrorCode("HOST_NOT_ALLOWED", 400, "Host name not allowed")
CROSS_SITE_REQUEST = ErrorCode("CROSS_SITE_REQUEST", 403, "Sent by another site's page")
NOT_FOUND = ErrorCode("NOT_FOUND", 404, "No such API route")
OUTSIDE_SERVICES = (HOST_NOT_ALLOWED, CROSS_SITE_REQUEST, NOT_FOUND)


def all_error_codes() -> list[ErrorCode]:
    """One entry per code, by status then code (a code shared by two types appears once)."""
    types = {ConsoleError, *DEFINED_ELSEWHERE, *_subclasses(ConsoleError)}
    found = {ErrorCode.of(t) for t in types}
    found |= set(OUTSIDE_SERVICES)
    return sorted(found, key=lambda e: (e.status, e.code))


def code(error: type[ConsoleError]) -> ErrorCode:
    return ErrorCode.of(error)


INTERNAL_ERROR = code(ConsoleError)
UNAUTHENTICATED = code(errors.Unauthenticated)
REGISTRY_UNAVAILABLE = code(errors.RegistryUnavailable)
PAYLOAD_TOO_LARGE = code(errors.PayloadTooLarge)


# What only a job's record carries in its ``error``: how a job ended, never a request's answer.
IN_JOB_RECORDS = (
    errors.JobFailed.error_code,
    errors.JobCancelled.error_code,
    SparkJobFailed.error_code,
    job_lost()["error_code"],
    job_waited_too_long()["error_code"],
)


def http_error_codes() -> list[ErrorCode]:
    """Every code a request can be answered with."""
    return [e for e in all_error_codes() if e.code not in IN_JOB_RECORDS]
