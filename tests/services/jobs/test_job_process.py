"""Jobs on this server run in clean processes: never stuck because another thread of the web
worker was inside SQLite when the job started; and a process forked from the console (a
Celery pool's) is never stuck on a lock another thread held."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from dataclasses import replace

import pytest

from app import create_app
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.dash_requests import page_token, score_request, started_job
from tests.processes import job_processes
from tests.waiting import until

CHURN = {"name": CHURN_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}
JOBS = 12


def _busy_with_sqlite(folder, stop: threading.Event) -> None:
    """What the web worker's other threads do all day (job polls, the audit writer, an
    embedded registry): open, write, read and close SQLite databases."""
    while not stop.is_set():
        connection = sqlite3.connect(folder / f"busy-{threading.get_ident()}.db")
        connection.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
        connection.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 200)
        connection.execute("SELECT count(*), max(x) FROM t").fetchall()
        connection.execute("DELETE FROM t")
        connection.commit()
        connection.close()


@pytest.mark.slow
def test_jobs_finish_while_other_threads_use_sqlite(settings, tmp_path):
    app = create_app(
        settings=replace(settings, app_data_dir=tmp_path, jobs_per_user=JOBS, inline_job_bytes=0)
    )
    client = app.server.test_client()
    upload = client.post(
        "/api/uploads?filename=c.csv",
        content_type="text/csv",
        data=churn_frame(200, seed=3).to_csv(index=False),
    ).get_json()
    stop = threading.Event()
    busy = [threading.Thread(target=_busy_with_sqlite, args=(tmp_path, stop)) for _ in range(4)]
    for thread in busy:
        thread.start()
    try:
        url = f"/_dash-update-component?endId={page_token(client)}"
        body = score_request(app, {"file_id": upload["file_id"], "filename": "c.csv"}, CHURN)
        running = [started_job(client.post(url, json=body)) for _ in range(JOBS)]
        assert None not in running

        def all_finished() -> bool:
            nonlocal running
            running = [
                job
                for job in running
                if client.get(f"/api/jobs/{job}").get_json()["state"] in ("queued", "running")
            ]
            return not running

        with contextlib.suppress(AssertionError):  # the assertion below says how many
            until(all_finished, 120, poll=0.2)
    finally:
        stop.set()
        for thread in busy:
            thread.join()
    assert running == [], f"{len(running)} of {JOBS} jobs never finished"
    states = {job["state"] for job in client.get("/api/jobs").get_json()["jobs"]}
    assert states == {"succeeded"}
    until(lambda: job_processes() == [], timeout=30)


def test_a_fork_while_other_threads_hold_the_consoles_locks_does_not_hang(settings, tmp_path):
    """Celery's prefork pool forks the process that built the console: a lock another thread
    held at that moment (the model cache's, the registry clients') would stay held in the
    child for ever. The child scores all the same."""
    import os
    import signal

    from app import services_of
    from services.access.audit import Source
    from services.access.caller import LOCAL_CALLER
    from services.registry.demo import IRIS_MODEL
    from tests.conftest import SETOSA

    services = services_of(create_app(settings=replace(settings, app_data_dir=tmp_path)).server)
    release, held = threading.Event(), threading.Event()

    per_caller = getattr(services.registry.registry_for, "lock", None)  # not in mode none
    locks = [services.models._lock, *([per_caller] if per_caller else [])]

    def hold_locks() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(timeout=60)
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold_locks)
    holder.start()
    assert held.wait(timeout=10)
    try:
        child = os.fork()
        if child == 0:  # the child: score, then leave without running the parent's cleanup
            code = 1
            try:
                services.after_fork()  # what the Celery worker's worker_process_init does
                answer = services.scoring.predict(
                    LOCAL_CALLER, IRIS_MODEL, "1", SETOSA, source=Source.API
                )
                code = 0 if answer.predictions == [0] else 2
            finally:
                os._exit(code)
        try:
            _, status = until(lambda: (ended := os.waitpid(child, os.WNOHANG))[0] and ended, 30)
        except AssertionError:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail("the forked child hung on a lock held by another thread")
    finally:
        release.set()
        holder.join()
    assert os.waitstatus_to_exitcode(status) == 0
