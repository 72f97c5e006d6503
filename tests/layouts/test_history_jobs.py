"""The History tab's jobs list, as a person reads a finished job's line."""

from __future__ import annotations

from layouts.history_tab import jobs_table
from services.jobs.record import COMPARE, EVALUATE, SCORE, SUCCEEDED, Job
from tests.callbacks.test_tabs import text_of
from tests.layouts.job_records import csv_job


def _finished(kind: str, result: dict | None) -> Job:
    summary = {"seconds": 0.1, "input_rows": 50}
    return csv_job(kind=kind, state=SUCCEEDED, summary=summary, result=result)


def test_a_finished_job_without_files_says_when_it_ended_and_nothing_else():
    for kind in (COMPARE, EVALUATE):
        shown = text_of(jobs_table([_finished(kind, None)]))
        assert "Done in 0.1 s." in shown and "None" not in shown, shown
    scored = text_of(jobs_table([_finished(SCORE, {"location": "your files"})]))
    assert "Done in 0.1 s; written to your files." in scored


def test_a_job_quicker_than_a_tenth_of_a_second_does_not_say_it_took_none():
    quick = csv_job(kind=SCORE, state=SUCCEEDED, summary={"seconds": 0.02, "input_rows": 8})
    shown = text_of(jobs_table([quick]))
    assert "Done in under 0.1 s." in shown and "0.0 s" not in shown, shown


def test_each_kind_of_job_is_named_by_what_it_does():
    for kind, word in ((SCORE, "Scoring"), (COMPARE, "Comparing"), (EVALUATE, "Evaluating")):
        assert word in text_of(jobs_table([_finished(kind, None)]))
