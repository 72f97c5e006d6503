"""A job record as the CSV tab makes one, for the layouts' tests to vary."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.jobs.record import SCORE, Job

CSV_JOB = Job(
    "a" * 32,
    "alice",
    SCORE,
    "csv",
    "main.ml_models.iris_classifier",
    "Champion",
    "1",
    "Champion",
    "local",
    "upload:" + "0" * 32,
    "",
    "csv",
    source_name="flowers.csv",
)


def csv_job(**fields: Any) -> Job:
    return replace(CSV_JOB, **fields)
