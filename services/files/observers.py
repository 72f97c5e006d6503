"""What watches a file being scored, chunk by chunk: each observer sees every chunk as read
and as scored, and says at the end what it found. The file is read once; the result files,
the charts' counts, drift, the preview and the progress all come from that one pass."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from services.files import results
from services.files.store import StoredFile, UserFiles, result_name
from services.registry.signature import SignatureInfo
from services.scoring.distribution import ConfidenceHistogram, Distribution
from services.scoring.prediction import PREDICTION_COLUMN, display_records, jsonable
from services.scoring.probabilities import top_probabilities

RESULT_PREVIEW_ROWS = 100
SUMMARY_PREDICTIONS = 5


@dataclass
class Progress:
    """Rows done of all rows, and when the rest should be done at this pace."""

    done: int
    total: int
    seconds: float

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.done / self.total)) if self.total else 0

    @property
    def eta_seconds(self) -> float | None:
        if not self.done or self.done >= self.total:
            return None
        return self.seconds * (self.total - self.done) / self.done


class ChunkObserver(Protocol):
    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        """One chunk as read from the file, and as scored (inputs, outputs, ``error``)."""

    def found(self) -> dict[str, Any]:
        """What it has to say about the whole file (fields of ``ScoredFile``)."""


class ResultFiles:
    """The result in every format asked for, each written as the chunks come and published
    only when complete (``UserFiles.writing``): a context, open while the file is scored.
    ``owner``: the job writing them, so a stopped job's unfinished files can be removed."""

    def __init__(
        self,
        store: UserFiles,
        caller: Any,
        owner: str,
        formats: list[results.ResultFormat],
    ) -> None:
        self.store, self.caller, self.owner, self.formats = store, caller, owner, formats
        self.writers: list[Callable[[pd.DataFrame], None]] = []
        self.ids: dict[str, str] = {}
        self._stack = contextlib.ExitStack()

    @property
    def passthrough_as_text(self) -> bool:
        return any(f.passthrough_as_text for f in self.formats)

    def open(self, source: StoredFile, signature: SignatureInfo) -> contextlib.ExitStack:
        """Start writing; closing what this returns publishes the files (or, on an error,
        removes them)."""
        for chosen in self.formats:
            target = result_name(source.filename, chosen.extension)
            writing = self.store.writing(self.caller, target, self.owner)
            file_id, handle = self._stack.enter_context(writing)
            self.writers.append(self._stack.enter_context(chosen.open_writer(handle, signature)))
            self.ids[chosen.name] = file_id
        return self._stack

    def add(
        self, chunk: pd.DataFrame, scored: pd.DataFrame, as_sent: pd.DataFrame | None = None
    ) -> None:
        """``as_sent``: the scored rows with their input cells as read (bad ones included),
        for a format of text (CSV); a typed format (Parquet) writes ``scored``."""
        for chosen, write in zip(self.formats, self.writers, strict=True):
            write(as_sent if as_sent is not None and chosen.keeps_cells_as_sent else scored)

    def found(self) -> dict[str, Any]:
        """Only once the writing has ended: the published files."""
        outputs = {name: self.store.describe(self.caller, i) for name, i in self.ids.items()}
        return {"outputs": outputs, "output": next(iter(outputs.values()))}


@dataclass
class PredictionCounts:
    """The predictions' distribution, for the charts: counted as the chunks go, so the charts
    cost no second read of the result."""

    distribution: Distribution = field(default_factory=Distribution)

    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        if PREDICTION_COLUMN in scored.columns:
            self.distribution.add(scored[PREDICTION_COLUMN])

    def found(self) -> dict[str, Any]:
        counted = self.distribution.total
        return {"distribution": self.distribution.to_dict() if counted else None}


@dataclass
class ConfidenceCounts:
    """How sure the model was: the predicted class's probability, in a histogram."""

    columns: list[str]
    histogram: ConfidenceHistogram = field(default_factory=ConfidenceHistogram)

    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        if self.columns:
            self.histogram.add(top_probabilities(scored, self.columns))

    def found(self) -> dict[str, Any]:
        return {"confidence": self.histogram.to_dict()}


@dataclass
class DriftCounts:
    """The inputs against the training reference, counted as read (before scoring)."""

    tally: Any  # a monitor.drift.DriftTally

    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        self.tally.add(chunk)

    def found(self) -> dict[str, Any]:
        return {}  # kept and said by DriftService, which owns where drift is stored


@dataclass
class Preview:
    """The first rows of the result, and the first few predictions for a summary."""

    head: pd.DataFrame | None = None

    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        if self.head is None:
            self.head = scored.head(RESULT_PREVIEW_ROWS)

    def found(self) -> dict[str, Any]:
        head = self.head if self.head is not None else pd.DataFrame()
        first = (
            jsonable(head[PREDICTION_COLUMN].head(SUMMARY_PREDICTIONS))
            if PREDICTION_COLUMN in head.columns
            else []
        )
        return {
            "predictions": first,
            "preview": display_records(head),
            "columns": [str(c) for c in head.columns],
        }


@dataclass
class ProgressReport:
    """Rows done after every chunk, to whoever waits (a job's record)."""

    report: Callable[[Progress], None]
    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0

    def add(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        self.done += len(scored)
        self.report(Progress(self.done, self.total, time.monotonic() - self.started))

    def found(self) -> dict[str, Any]:
        return {}
