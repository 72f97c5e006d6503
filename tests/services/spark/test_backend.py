"""A stopped Spark job's local destination: cleared of what its late tasks still write, and
never of another job's files."""

from __future__ import annotations

import threading
import time

import pytest

from services.spark.backend import remove_settled, removed_unless_done
from tests.waiting import until


def late_task(target, recreated: threading.Event, after: float = 0.5) -> None:
    """What a cancelled job's last task does: writes into its folder once it has gone."""
    until(lambda: not target.exists(), timeout=10, poll=0.01)
    time.sleep(after)
    (target / "_temporary" / "0").mkdir(parents=True)
    recreated.set()


def test_a_folder_a_late_task_writes_into_again_is_removed_again(tmp_path):
    target = tmp_path / "out"
    (target / "_temporary").mkdir(parents=True)
    recreated = threading.Event()
    writer = threading.Thread(target=late_task, args=(target, recreated))
    writer.start()
    assert remove_settled(target, quiet=1.5, limit=10)
    writer.join()
    assert recreated.is_set() and not target.exists()


def test_a_new_job_for_the_same_destination_waits_until_the_stopped_one_has_cleared_it(
    tmp_path,
):
    """Without the wait, the stopped job's clearing would remove the new job's files."""
    target, claims = tmp_path / "out", tmp_path / "claims"
    recreated, clearing = threading.Event(), threading.Event()
    seen_by_second: list[bool] = []

    def stopped_job() -> None:
        with pytest.raises(RuntimeError), removed_unless_done(target, claims):
            (target / "_temporary").mkdir(parents=True)
            threading.Thread(target=late_task, args=(target, recreated)).start()
            clearing.set()
            raise RuntimeError("cancelled")

    def second_job() -> None:
        clearing.wait(10)
        time.sleep(0.1)  # the stopped job is clearing now
        with removed_unless_done(target, claims):
            seen_by_second.append(target.exists())
            (target / "part-0.parquet").parent.mkdir(parents=True, exist_ok=True)
            (target / "part-0.parquet").write_bytes(b"result")
            (target / "_SUCCESS").touch()

    jobs = [threading.Thread(target=stopped_job), threading.Thread(target=second_job)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(30)
    assert recreated.is_set()
    assert seen_by_second == [False]
    assert (target / "part-0.parquet").read_bytes() == b"result"
