"""Scoring a table: the one path every table takes, chunk by chunk, with one loaded model.

A JSON batch, an API ``text/csv`` body, an uploaded file and a CSV job all come here. What
differs is what a bad row does:

- ``BadRows.REFUSE`` (JSON, MLflow's rules): the first bad value fails the whole input with a
  message that names its column, row and value;
- ``BadRows.MARK`` (files): a bad row gets no prediction and an ``error`` saying why; the rest
  of the file is still scored.

A missing column fails the whole table either way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pandas as pd

from services.errors import ModelRejectedInput
from services.registry.labels import label_of
from services.scoring.cells import cells_as_sent, row_problems, typed_inputs
from services.scoring.models import LoadedModel
from services.scoring.payload import ModelInput
from services.scoring.prediction import (
    PREDICTION_COLUMN,
    jsonable,
    output_columns,
    output_names,
    outputs_frame,
    raw_outputs,
    with_gaps,
)
from services.scoring.probabilities import (
    probability_columns,
    probability_frame,
    probability_matrix,
)
from services.scoring.validation import ConformedInput, conform, conform_frame

ERROR_COLUMN = "error"
MAX_REFUSED_ROWS = 100  # per chunk: beyond, the model refuses the file, not some rows
LABEL_COLUMN = f"{PREDICTION_COLUMN}_label"


class BadRows(Enum):
    REFUSE = "refuse"
    MARK = "mark"


@dataclass
class ScoredChunk:
    """One chunk and the model's answer for it.

    ``parts``: (rows, output) for each ``predict`` call, in order; ``scored``: the index of
    the rows that were scored (None: all of them); ``problems``: why each row was not scored
    ("" where it was), with ``BadRows.MARK``."""

    data: pd.DataFrame | Any
    parts: list[tuple[int, Any]]
    output_names: list[str]
    scored: pd.Index | None = None
    problems: pd.Series | None = None
    labels: dict[str, str] | None = None
    probabilities: list[Any] = field(default_factory=list)  # one matrix per part
    probability_columns: list[str] = field(default_factory=list)
    sent: pd.DataFrame | None = None  # the rows as read, when ``data`` typed their cells

    @property
    def failed_rows(self) -> int:
        return 0 if self.problems is None else int((self.problems != "").sum())

    def predictions(self) -> list[Any]:
        """The answers as JSON values, one per scored row."""
        values: list[Any] = []
        for _, output in self.parts:
            values.extend(jsonable(output))
        return values

    def class_names(self, predictions: list[Any]) -> list[str | None] | None:
        """The declared name of each prediction; None when the model declares none."""
        if self.labels is None:
            return None
        try:  # a batch holds few distinct classes: name each once
            names = {value: label_of(self.labels, value) for value in set(predictions)}
        except TypeError:  # unhashable outputs (several columns per row)
            return [label_of(self.labels, value) for value in predictions]
        return [names[value] for value in predictions]

    def frame_as_sent(self) -> pd.DataFrame | None:
        """``frame`` with the cells the model could not read as they were sent, for a result
        of text (CSV); None when every cell was read (``frame`` is that result)."""
        if self.sent is None:
            return None
        return self.frame(cells_as_sent(self.data, self.sent))

    def frame(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        """The chunk's rows with the output columns appended (replacing input columns of the
        same name) and, with ``BadRows.MARK``, the ``error`` column. A typed column keeps one
        type in every chunk: a cell that does not read as it is empty (its ``error`` says
        why)."""
        rows = self.data if rows is None else rows
        if self.parts:
            index = rows.index if self.scored is None else self.scored
            predicted = outputs_frame(self.parts, index)
            if self.scored is not None and len(self.scored) < len(rows):
                predicted = with_gaps(predicted, rows.index)
        else:  # every row failed: the output columns of the model, empty
            predicted = pd.DataFrame(dict.fromkeys(self.output_names), index=rows.index)
        if self.labels is not None and PREDICTION_COLUMN in predicted.columns:
            predicted[LABEL_COLUMN] = _names(predicted[PREDICTION_COLUMN], self.labels)
        if self.probability_columns:
            scored_rows = rows.index if self.scored is None else self.scored
            chances = probability_frame(
                self.probabilities, self.probability_columns, scored_rows, rows.index
            )
            predicted = pd.concat([predicted, chances], axis=1)
        kept = rows.drop(columns=[c for c in predicted.columns if c in rows.columns])
        scored = pd.concat([kept, predicted], axis=1)
        if self.problems is not None:
            scored[ERROR_COLUMN] = self.problems
        return scored


@dataclass
class TableRun:
    """A table scored chunk by chunk; counts what it has seen."""

    model: LoadedModel
    bad_rows: BadRows
    chunk_rows: int
    rows: int = 0
    failed_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    probabilities: bool = False  # add a probability_<class> column per class

    def __post_init__(self) -> None:
        # until a chunk shows the model's own output columns
        self.output_names = output_columns(self.model.signature) or [PREDICTION_COLUMN]
        # known before the first chunk, so every chunk (even one of bad rows) has them
        self.probability_columns = probability_columns(self.model) if self.probabilities else []
        self._matrices: list[Any] = []

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def score(self, chunk: ModelInput) -> ScoredChunk:
        self._matrices = []
        scored = self._refusing(chunk) if self.bad_rows is BadRows.REFUSE else self._marking(chunk)
        self.rows += chunk.rows
        self.failed_rows += scored.failed_rows
        return scored

    def score_conformed(self, conformed: ConformedInput) -> ScoredChunk:
        """Input already model-ready (the fast path for clean records)."""
        self.rows += conformed.rows
        self._matrices = []
        return self._scored(conformed.data, conformed)

    def _refusing(self, chunk: ModelInput) -> ScoredChunk:
        return self._scored(chunk.data, conform(chunk, self.model.signature))

    def _scored(self, data: Any, conformed: ConformedInput) -> ScoredChunk:
        self.ignored_columns = conformed.ignored_columns
        parts = self._predict(conformed)
        return ScoredChunk(
            data, parts, self.output_names, labels=self.model.labels, **self._probabilities()
        )

    def _marking(self, chunk: ModelInput) -> ScoredChunk:
        frame, columns = chunk.data, self.model.signature.columns
        if columns:
            conform_frame(frame.head(0), columns)  # a missing column fails the whole table
        problems = row_problems(frame, columns)
        good = frame[problems == ""]
        parts: list[tuple[int, Any]] = []
        if len(good):
            parts, refused = self._isolating(good, chunk.params, budget=[MAX_REFUSED_ROWS])
            problems = problems.copy()
            for label, detail in refused.items():
                problems[label] = f"the model could not score this row: {detail}"
            good = good.drop(index=list(refused))
            if parts:
                self.output_names = output_names(parts[0][1])
        clean = bool((problems == "").all())
        return ScoredChunk(
            frame if clean else typed_inputs(frame, columns),
            parts,
            self.output_names,
            good.index,
            problems,
            self.model.labels,
            **self._probabilities(),
            sent=None if clean else frame,
        )

    def _probabilities(self) -> dict[str, Any]:
        return {"probabilities": self._matrices, "probability_columns": self.probability_columns}

    def _isolating(
        self, rows: pd.DataFrame, params: Any, budget: list[int]
    ) -> tuple[list[tuple[int, Any]], dict[Any, str]]:
        """Score ``rows``; when the model refuses them, halve until the rows it refuses by
        themselves are found (each costs its row, not the file). Past ``budget`` refused
        rows the model refuses the table, so the whole file fails with its words."""
        try:
            conformed = conform(ModelInput(rows, params), self.model.signature)
            self.ignored_columns = conformed.ignored_columns
            return self._predict(conformed), {}
        except ModelRejectedInput as error:
            if len(rows) == 1 and budget[0] > 0:
                budget[0] -= 1
                return [], {rows.index[0]: error.detail}
            if len(rows) == 1 or budget[0] <= 0:
                raise
        half = len(rows) // 2
        first, refused_first = self._isolating(rows.iloc[:half], params, budget)
        second, refused_second = self._isolating(rows.iloc[half:], params, budget)
        return first + second, {**refused_first, **refused_second}

    def _predict(self, conformed: Any) -> list[tuple[int, Any]]:
        """The model's output per part; with probabilities, each part's matrix is kept in
        the same order, and only once the whole call succeeded (a refused call is halved and
        tried again)."""
        parts, matrices = [], []
        for part, output in raw_outputs(self.model, conformed, self.chunk_rows):
            parts.append((len(part), output))
            if self.probability_columns:
                matrices.append(probability_matrix(self.model, part))
        self._matrices.extend(matrices)
        return parts

    def frames(self, chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Each chunk of a table, scored, with the output (and ``error``) columns."""
        for chunk in chunks:
            yield self.score(ModelInput(chunk)).frame()


def _names(predictions: pd.Series, labels: dict[str, str]) -> pd.Series:
    """Each prediction's declared name (empty where it has none)."""
    names = {value: label_of(labels, value) for value in predictions.dropna().unique()}
    return predictions.map(names).astype(object)
