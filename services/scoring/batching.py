"""Adaptive batching: concurrent predictions for one loaded model gathered into one call.

Most models cost about as much for one row as for dozens (a forest walks every tree, a
pipeline runs every step, whatever the number of rows), so requests that arrive together are
predicted together: each caller's conformed rows go into one queue per loaded model version;
the first in line leads. While requests come one at a time the leader predicts at once; once
they overlap, it waits up to the window (or until the row limit is queued) for others to join.
The leader predicts the batch in one call and splits the output back, each caller getting its
own rows. Everything else (parsing, checking, errors, the audit record) stays with each request.

A bad request never fails its neighbours: when the batch call fails, each request is predicted
by itself and gets its own answer or error. A model whose output is not one row per input row
is never batched again (its outputs could not be split).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from services.errors import PredictionFailed

Predict = Callable[[Any], Any]
INTERRUPTED = "The prediction was interrupted on the server."


@dataclass(frozen=True)
class BatchSettings:
    window_seconds: float
    max_rows: int

    @property
    def on(self) -> bool:
        return self.window_seconds > 0 and self.max_rows > 1


@dataclass(eq=False)  # a request is itself, whatever its rows
class _Request:
    data: pd.DataFrame
    exact: bool  # may go to the model's direct predict (see services/compat.sklearn_predict)
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    finished: bool = False
    output: Any = None
    error: BaseException | None = None

    def finish(self, output: Any = None, error: BaseException | None = None) -> None:
        self.output, self.error, self.finished = output, error, True
        self.wake.set()


@dataclass
class BatchStats:
    calls: int = 0  # calls of the model made by batches
    requests: int = 0  # requests answered through batches
    fallbacks: int = 0  # batches predicted request by request after the batch call failed


class Batcher:
    """The queue in front of one loaded model's ``predict``."""

    def __init__(
        self, predict: Predict, settings: BatchSettings, direct: Predict | None = None
    ) -> None:
        self._predict = predict
        self._direct = direct
        self.settings = settings
        self.stats = BatchStats()
        self.row_aligned = True
        self._queue: list[_Request] = []
        self._queued_rows = 0
        self._busy = False  # someone leads (gathers or predicts) right now
        self._overlapping = False  # the last batch found others waiting
        self._arrived = threading.Condition(threading.Lock())

    @property
    def waiting(self) -> int:
        """Requests queued behind the one being predicted."""
        with self._arrived:
            return len(self._queue)

    def after_fork(self) -> None:
        self._queue, self._queued_rows, self._busy = [], 0, False
        self._arrived = threading.Condition(threading.Lock())

    def predict(self, data: Any, exact: bool = False) -> Any:
        """The model's output for ``data``, predicted alone or together with others."""
        if not self._batchable(data):
            return self._model_for([exact])(data)
        request = _Request(data, exact)
        with self._arrived:
            self._queue.append(request)
            self._queued_rows += len(data)
            if not self._busy:
                self._busy = request.leads = True
            self._arrived.notify()
        if not request.leads:
            request.wake.wait()
        if not request.finished:  # woken to lead the next batch
            self._lead(request)
        if request.error is not None:
            raise request.error
        return request.output

    def _batchable(self, data: Any) -> bool:
        return (
            self.settings.on
            and self.row_aligned
            and isinstance(data, pd.DataFrame)
            and 0 < len(data) < self.settings.max_rows
        )

    def _lead(self, own: _Request) -> None:
        batch: list[_Request] = []
        try:
            self._gather()
            batch = self._take()
            self._run(batch)
        except BaseException:  # an interrupt of this thread: never leave a waiter hanging
            if not batch:
                self._withdraw(own)
            for request in batch:
                if request is not own and not request.finished:
                    request.finish(error=PredictionFailed(INTERRUPTED, hint="Try again."))
            raise
        finally:
            self._pass_on()

    def _withdraw(self, request: _Request) -> None:
        with self._arrived:
            if request in self._queue:
                self._queue.remove(request)
                self._queued_rows -= len(request.data)

    def _gather(self) -> None:
        """Under overlapping traffic, wait for others up to the window or the row limit."""
        if not self._overlapping:
            return
        deadline = time.monotonic() + self.settings.window_seconds
        with self._arrived:
            while self._queued_rows < self.settings.max_rows:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._arrived.wait(left)

    def _take(self) -> list[_Request]:
        """The requests at the head of the queue, up to the row limit (at least one)."""
        with self._arrived:
            batch, rows = [self._queue[0]], len(self._queue[0].data)
            for request in self._queue[1:]:
                if rows + len(request.data) > self.settings.max_rows:
                    break
                batch.append(request)
                rows += len(request.data)
            del self._queue[: len(batch)]
            self._queued_rows -= rows
            self._overlapping = len(batch) > 1 or bool(self._queue)
            return batch

    def _pass_on(self) -> None:
        with self._arrived:
            if self._queue:
                self._queue[0].leads = True
                self._queue[0].wake.set()
            else:
                self._busy = False

    def _run(self, batch: list[_Request]) -> None:
        if len(batch) > 1 and _same_columns(batch):
            self.stats.calls += 1
            self.stats.requests += len(batch)
            try:
                combined = pd.concat([r.data for r in batch], ignore_index=True)
                output = self._model_for([r.exact for r in batch])(combined)
            except Exception:
                self.stats.fallbacks += 1  # one request's rows may be the cause: ask each alone
            else:
                parts = _split(output, [r.data for r in batch])
                if parts is not None:
                    for request, part in zip(batch, parts, strict=True):
                        request.finish(part)
                    return
                self.row_aligned = False
        for request in batch:
            try:
                request.finish(self._model_for([request.exact])(request.data))
            except Exception as error:
                request.finish(error=error)

    def _model_for(self, exact: list[bool]) -> Predict:
        return self._direct if self._direct is not None and all(exact) else self._predict


def _same_columns(batch: list[_Request]) -> bool:
    first = batch[0].data.dtypes
    return all(r.data.dtypes.equals(first) for r in batch[1:])


def _split(output: Any, inputs: list[pd.DataFrame]) -> list[Any] | None:
    """The output cut back into each input's rows; None when it is not one row per row."""
    sizes = [len(frame) for frame in inputs]
    if _length(output) != sum(sizes):
        return None
    bounds = np.cumsum([0, *sizes])
    parts = []
    for frame, start, end in zip(inputs, bounds[:-1], bounds[1:], strict=True):
        parts.append(_rows(output, int(start), int(end), frame.index))
    return parts


def _length(output: Any) -> int | None:
    if isinstance(output, (np.ndarray, pd.DataFrame, pd.Series, list)):
        return len(output)
    if isinstance(output, dict) and output:
        lengths = {_length(value) for value in output.values()}
        return lengths.pop() if len(lengths) == 1 else None
    return None


def _rows(output: Any, start: int, end: int, index: pd.Index) -> Any:
    if isinstance(output, (pd.DataFrame, pd.Series)):
        part = output.iloc[start:end]
        part.index = index  # as if the caller's frame had been predicted alone
        return part
    if isinstance(output, dict):
        return {key: _rows(value, start, end, index) for key, value in output.items()}
    return output[start:end]
