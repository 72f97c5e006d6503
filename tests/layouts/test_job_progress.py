"""What a queued job says while it waits: people saw "Starting…" for seconds, with no why."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from layouts.features.jobs import ended_view, progress_label
from services.jobs.record import CELERY, INLINE, PROCESS, RUNNING, SPARK
from tests.callbacks.test_tabs import text_of
from tests.layouts.job_records import csv_job

QUEUED_JOB = csv_job()  # a new record is queued


@pytest.mark.parametrize(
    ("runner", "waited", "says"),
    [
        (PROCESS, 6, "Starting a job process (the first one takes a few seconds): 6 s…"),
        (CELERY, 6, "Waiting for a job worker: 6 s…"),
        (INLINE, 6, "Starting…"),  # a thread: waiting here is not the runner's doing
        (SPARK, 6, "Starting…"),
        (PROCESS, 0, "Starting…"),  # most jobs start at once: no notice flashes by
    ],
)
def test_a_queued_job_says_what_it_waits_for(runner, waited, says):
    job = replace(QUEUED_JOB, runner=runner, created=time.time() - waited - 0.2)
    assert progress_label(job) == says


def test_prediction_history_redraws_a_queued_job_as_its_wait_grows():
    from callbacks.features.jobs import jobs_key

    waiting = replace(QUEUED_JOB, runner=PROCESS, created=time.time() - 3.2)
    later = replace(waiting, created=waiting.created - 1)
    assert jobs_key([waiting]) != jobs_key([later])


def test_a_running_job_without_progress_yet_says_it_runs():
    running = replace(QUEUED_JOB, runner=PROCESS, state=RUNNING, started=time.time())
    assert progress_label(running) == "Running…"
    counted = replace(running, progress={"rows_done": 50_000, "rows_total": 150_000})
    assert progress_label(counted) == "50,000 / 150,000 rows"


def test_a_panel_that_said_an_error_says_its_empty_text_once_there_is_nothing_to_show():
    """A link to someone else's job said "not found"; a new file later: the error goes."""
    from callbacks.features.jobs import PANELS, SAID_ERROR, JobCallbacks
    from tests.callbacks.test_tabs import text_of

    csv_panel = PANELS[0]
    redrawn = JobCallbacks._panel(csv_panel, None, SAID_ERROR, None)
    assert text_of(redrawn["result"]) == csv_panel.panel.empty
    assert redrawn["shown"] is None


def test_a_job_still_going_says_where_its_result_will_be():
    for state in (QUEUED_JOB.state, RUNNING):
        job = replace(QUEUED_JOB, state=state)
        shown = text_of(ended_view(job, lambda _: pytest.fail("not ended: nothing to draw")))
        assert "the result appears here when it ends" in shown, shown
