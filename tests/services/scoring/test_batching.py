"""Adaptive batching is invisible to each caller: under real concurrency every request gets
the predictions for its own rows, its own error and its own audit record, and a request the
model refuses costs nobody else anything."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from app import create_app, services_of
from services.access.caller import LOCAL_CALLER
from services.registry.demo import IRIS_MODEL
from services.scoring.batching import Batcher, BatchSettings
from tests.conftest import SETOSA
from tests.waiting import until

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLIENTS, REQUESTS = 24, 25
TOO_BIG = 1.7e308  # passes the signature (a double); the forest itself refuses it


@pytest.fixture
def console(settings, tmp_path):
    app = create_app(settings=replace(settings, app_data_dir=tmp_path, batch_window_ms=5))
    yield app.server, services_of(app.server)
    services_of(app.server).audit.close()


def _records(rng: np.random.Generator, refused: bool) -> list[dict[str, float]]:
    rows = rng.uniform([4.3, 2.0, 1.0, 0.1], [7.9, 4.4, 6.9, 2.5], size=(rng.integers(1, 6), 4))
    records = [dict(zip(FEATURES, map(float, row), strict=True)) for row in rows.round(1)]
    if refused:
        records[-1]["petal_length"] = TOO_BIG
    return records


def _client(server, expected, number: int) -> Counter:
    """One client's requests: each answer must be the model's own for exactly its rows."""
    rng, client, seen = np.random.default_rng(number), server.test_client(), Counter()
    url = f"/api/models/{IRIS_MODEL}/Champion/predict"
    for request in range(REQUESTS):
        refused = (number + request) % 7 == 0
        records = _records(rng, refused)
        answer = client.post(url, json=records)
        if refused:
            assert answer.status_code == 422, answer.get_data(as_text=True)
            assert answer.get_json()["error_code"] == "MODEL_REJECTED_INPUT"
            seen["refused"] += 1
        else:
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert answer.get_json()["predictions"] == expected(records)
            seen["ok"] += 1
            seen["rows"] += len(records)
    return seen


def test_concurrent_callers_each_get_their_own_rows_errors_and_audit(console):
    server, services = console
    _, model = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "Champion")
    lock = threading.Lock()

    def expected(records: list[dict[str, float]]) -> list[int]:
        with lock:  # the model alone, one request at a time: what each caller must get
            return model.pyfunc.predict(pd.DataFrame(records)[FEATURES]).tolist()

    with ThreadPoolExecutor(CLIENTS) as pool:
        seen = sum(pool.map(lambda n: _client(server, expected, n), range(CLIENTS)), Counter())

    stats = model.batcher.stats
    assert stats.requests > stats.calls > 0, "no request was ever batched: nothing was tested"
    assert stats.fallbacks > 0, "no batch held a refused request: neighbours were not tested"
    records = services.audit.rows(model=IRIS_MODEL, action="predict")
    ok = [r for r in records if r["outcome"] == "ok"]
    assert (len(ok), sum(r["input_rows"] for r in ok)) == (seen["ok"], seen["rows"])
    refused = [r for r in records if r["error_code"] == "MODEL_REJECTED_INPUT"]
    assert len(refused) == seen["refused"]


def test_batching_off_predicts_each_request_alone(settings, tmp_path):
    app = create_app(settings=replace(settings, app_data_dir=tmp_path, batch_window_ms=0))
    services = services_of(app.server)
    _, model = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "Champion")
    assert model.batcher is None
    answer = app.server.test_client().post(f"/api/models/{IRIS_MODEL}/1/predict", json=SETOSA)
    assert answer.get_json()["predictions"] == [0]
    services.audit.close()


class _Held:
    """A model's first call held until ``others`` requests wait behind it: the next call is
    then a batch of them all, however the threads were scheduled."""

    def __init__(self, predict: Any, others: int) -> None:
        self.predict, self.others, self.calls = predict, others, 0
        self.batcher: Batcher | None = None

    def __call__(self, frame: pd.DataFrame) -> Any:
        self.calls += 1
        if self.calls == 1:
            until(lambda: self.batcher.waiting == self.others, 30, poll=0.005)
        return self.predict(frame, self.calls)


def _held(predict: Any, others: int, settings: BatchSettings) -> Batcher:
    model = _Held(predict, others)
    model.batcher = Batcher(model, settings)
    return model.batcher


def _row_count(frame: pd.DataFrame, call: int) -> np.ndarray:
    """A model whose answer is one value for the whole input, not one per row."""
    return np.array([len(frame)])


def test_a_model_whose_output_is_not_row_aligned_is_not_batched_again():
    frames = [pd.DataFrame({"x": range(n)}) for n in range(1, 17)]
    batcher = _held(_row_count, len(frames) - 1, BatchSettings(window_seconds=0.05, max_rows=1000))
    start = threading.Barrier(len(frames))

    def ask(frame: pd.DataFrame) -> list[int]:
        start.wait()
        return batcher.predict(frame).tolist()

    with ThreadPoolExecutor(len(frames)) as pool:
        answers = list(pool.map(ask, frames))
    assert answers == [[len(f)] for f in frames]
    assert not batcher.row_aligned


class _Interrupted(BaseException):
    """What stops a thread that is not a model error (an interrupt, a worker shutting down)."""


def test_an_interrupted_leader_leaves_nobody_waiting():
    """The leader's thread is interrupted while it predicts a batch: it stops, its
    neighbours get a clear error of their own (not its interrupt), and the model serves the
    next requests."""

    def interrupted_second(frame: pd.DataFrame, call: int) -> np.ndarray:
        if call == 2:
            raise _Interrupted
        return np.arange(len(frame))

    batcher = _held(interrupted_second, 7, BatchSettings(window_seconds=0.02, max_rows=1000))
    answers = _ask_together(batcher, 8)
    assert sorted(answers) == ["PredictionFailed"] * 6 + ["interrupted", "ok"], answers
    assert batcher.predict(pd.DataFrame({"x": [1, 2]})).tolist() == [0, 1]


class _InterruptedWhileGathering(Batcher):
    def _gather(self) -> None:
        if not getattr(self, "interrupted", False):
            self.interrupted = True
            raise _Interrupted
        super()._gather()


def test_a_leader_interrupted_before_it_took_its_batch_does_not_block_the_model():
    batcher = _InterruptedWhileGathering(lambda f: np.arange(len(f)), BatchSettings(0.02, 100))
    with pytest.raises(_Interrupted):
        batcher.predict(pd.DataFrame({"x": [1]}))
    assert _ask_together(batcher, 4) == ["ok"] * 4  # would wait for ever behind the first


def _ask_together(batcher: Batcher, clients: int) -> list[str]:
    start = threading.Barrier(clients)

    def ask(rows: int) -> str:
        start.wait()
        try:
            batcher.predict(pd.DataFrame({"x": range(rows)}))
            return "ok"
        except _Interrupted:
            return "interrupted"
        except Exception as error:
            return type(error).__name__

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(ask, range(1, clients + 1)))
