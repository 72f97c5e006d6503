"""The job store on its first use, as a gunicorn worker's threads meet it: at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillWaiting
from pathlib import Path

import pytest

from services.jobs import store as store_module
from services.jobs.store import JobStore


def test_a_thread_waits_for_the_table_another_is_making(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's first CSV jobs on a fresh data folder once answered 500 "no such table:
    console_jobs": one thread made the table while another already queried it."""
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}", 60, 60, 60)
    making, finish = threading.Event(), threading.Event()
    create_all = store_module.metadata.create_all

    def held_create_all(engine, **options):
        making.set()
        finish.wait(10)
        create_all(engine, **options)

    monkeypatch.setattr(store_module.metadata, "create_all", held_create_all)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(store.list, "alice")
        assert making.wait(10)
        second = pool.submit(store.list, "bob")
        with pytest.raises(StillWaiting):  # not an error: it waits for the table
            second.result(timeout=0.5)
        finish.set()
        assert first.result(timeout=10) == []
        assert second.result(timeout=10) == []
