"""The chunk scorer that runs inside Spark: each Arrow batch through the console's own
``TableRun`` (``BadRows.MARK``), the same path as every uploaded file.

The app builds a ``ChunkPlan`` (which shipped model, the result's columns and types) from a
few rows it scores itself; Spark pickles ``score_batches`` with the plan and runs it on the
executors, which import this package from the zip the app shipped (``ship.py``) and load
the model from the shipped archive (``SparkFiles``), never from the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from services.files.csv_io import neutralise_formulas, parse_cells, passthrough_columns
from services.files.parquet import ColumnTypes
from services.scoring.models import LoadedModel
from services.scoring.payload import ModelInput
from services.scoring.tables import BadRows, TableRun

_LOADED: dict[str, LoadedModel] = {}  # per Python worker: Spark reuses workers across tasks


@dataclass(frozen=True)
class ChunkPlan:
    """Everything an executor needs besides the data; pickled into every task."""

    archive: str  # the name the model's archive was shipped under
    model: str
    version: str
    labels: dict[str, str] | None
    chunk_rows: int
    csv_input: bool  # every cell arrives as text, parsed as iter_csv parses an upload
    csv_output: bool  # formula cells neutralised, every column text (as the CSV result)
    types: ColumnTypes
    schema: pa.Schema


def scored_frame(
    run: TableRun, batch: pa.RecordBatch | pa.Table, csv_input: bool, as_sent: bool = False
) -> pd.DataFrame:
    """One batch scored: its rows, the outputs and the per-row ``error``; ``as_sent``: a
    cell the model could not read kept as it was (a CSV result, as for an uploaded file)."""
    frame = batch.to_pandas()
    if csv_input:
        frame = parse_cells(frame, run.model.signature)
    answer = run.score(ModelInput(frame))
    kept = answer.frame_as_sent() if as_sent else None
    return answer.frame() if kept is None else kept


def result_batch(scored: pd.DataFrame, plan: ChunkPlan) -> pa.RecordBatch:
    """The scored frame in the result's schema, exactly as the file results are written."""
    if plan.csv_output:
        return _text_batch(scored, plan.schema)
    return plan.types.table(scored, plan.schema).to_batches()[0] if len(scored) else _empty(plan)


def _text_batch(scored: pd.DataFrame, schema: pa.Schema) -> pa.RecordBatch:
    """As ``write_csv`` writes it: neutralised, then each value as Arrow's CSV writer spells
    it (the float 1.0 as ``1``), so the Spark CSV and the uploaded-file CSV read the same."""
    safe = neutralise_formulas(scored)
    for name in safe.columns:
        if safe[name].dtype == object:
            safe[name] = safe[name].astype("string")
    table = pa.Table.from_pandas(safe, preserve_index=False)
    columns = [pc.cast(column, pa.string()) for column in table.columns]
    return pa.RecordBatch.from_arrays([c.combine_chunks() for c in columns], schema=schema)


def _empty(plan: ChunkPlan) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=plan.schema)


def _shipped_model(plan: ChunkPlan) -> LoadedModel:
    if plan.archive not in _LOADED:
        import mlflow.pyfunc
        from pyspark import SparkFiles

        from services.registry.signature import describe_signature

        pyfunc = mlflow.pyfunc.load_model(SparkFiles.get(plan.archive))
        signature = describe_signature(pyfunc.metadata.signature)
        _LOADED[plan.archive] = LoadedModel(
            plan.model, plan.version, pyfunc, signature, 0.0, labels=plan.labels
        )
    return _LOADED[plan.archive]


def score_batches(plan: ChunkPlan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """What ``mapInArrow`` runs on each partition."""
    run = TableRun(_shipped_model(plan), BadRows.MARK, plan.chunk_rows)
    for batch in batches:
        if batch.num_rows:
            scored = scored_frame(run, batch, plan.csv_input, as_sent=plan.csv_output)
            yield result_batch(scored, plan)


def result_types(
    scored: pd.DataFrame, source: pa.Schema, model: LoadedModel, csv_input: bool
) -> ColumnTypes:
    """The types of the result's columns, as the Parquet result decides them, except that
    columns the model does not use keep the type the source gives them (a Parquet source is
    typed; a CSV source is text, as in the uploaded-file result)."""
    types = ColumnTypes.for_signature(model.signature)
    if not csv_input:
        kept = passthrough_columns(source.names, model.signature)
        types.inputs.update({name: _plain(source.field(name).type) for name in kept})
    names = [str(c) for c in scored.columns]
    types.learn(scored)
    types.settle(names)
    return types


def _plain(kind: pa.DataType) -> pa.DataType:
    """Spark's types for Arrow's long and view strings."""
    if kind in (pa.large_string(), pa.string_view()):
        return pa.string()
    return pa.binary() if kind == pa.large_binary() else kind


def result_schema(scored: pd.DataFrame, types: ColumnTypes, csv_output: bool) -> pa.Schema:
    names = [str(c) for c in scored.columns]
    if csv_output:
        shown = neutralise_formulas(scored.head(0)).columns
        return pa.schema([(str(name), pa.string()) for name in shown])
    return types.schema(names)
