"""A big iris CSV end to end: generate it, score it through the app (upload, score route,
download), score it in one process (the baseline), and check the app's file against that."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import requests

ID_COLUMN = "id"
GENERATE_CHUNK_ROWS = 1_000_000
NOISE = 0.05  # cm: every row differs a little from the 150 real flowers
DECIMALS = 4
DOWNLOAD_BLOCK = 1024 * 1024
TIMEOUT_S = 3600.0


# -- the input file -----------------------------------------------------------------------


def _iris_chunk(rng: np.random.Generator, first_id: int, rows: int, features: list[str]):
    from sklearn.datasets import load_iris

    flowers = load_iris().data
    values = flowers[rng.integers(0, len(flowers), size=rows)]
    values = np.round(np.clip(values + rng.normal(0, NOISE, values.shape), 0.1, None), DECIMALS)
    columns = {ID_COLUMN: np.arange(first_id, first_id + rows, dtype=np.int64)}
    columns.update({name: values[:, i] for i, name in enumerate(features)})
    return pa.table(columns)


def write_iris_csv(path: Path, rows: int, features: list[str], seed: int = 0) -> int:
    """``rows`` noisy iris flowers with ids 1..rows, same bytes for the same seed; the size."""
    rng = np.random.default_rng(seed)
    schema = _iris_chunk(np.random.default_rng(seed), 1, 1, features).schema
    with pacsv.CSVWriter(path, schema) as writer:
        for first in range(0, rows, GENERATE_CHUNK_ROWS):
            count = min(GENERATE_CHUNK_ROWS, rows - first)
            writer.write_table(_iris_chunk(rng, first + 1, count, features))
    return path.stat().st_size


# -- the baseline: one process, no HTTP ---------------------------------------------------


@dataclass(frozen=True)
class RawTimes:
    read_s: float
    predict_s: float
    write_s: float

    @property
    def total_s(self) -> float:
        return self.read_s + self.predict_s + self.write_s


def raw_pipeline(
    model: Any, source: Path, target: Path, features: list[str]
) -> tuple[RawTimes, np.ndarray]:
    """Read with pyarrow, predict with the in-process pyfunc model, write with pyarrow."""
    started = time.perf_counter()
    table = pacsv.read_csv(source)
    frame = table.select(features).to_pandas()
    read_done = time.perf_counter()
    predictions = np.asarray(model.predict(frame)).ravel()
    predict_done = time.perf_counter()
    pacsv.write_csv(table.append_column("prediction", pa.array(predictions)), target)
    written = time.perf_counter()
    times = RawTimes(read_done - started, predict_done - read_done, written - predict_done)
    return times, predictions


# -- the app: upload, score route, download -----------------------------------------------


@dataclass(frozen=True)
class AppTimes:
    upload_s: float
    score_s: float
    download_s: float
    input_rows: int
    failed_rows: int
    result_bytes: int

    @property
    def total_s(self) -> float:
        return self.upload_s + self.score_s + self.download_s


def _checked(response: requests.Response, expected: int, step: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise RuntimeError(f"{step} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def upload(session: requests.Session, base_url: str, source: Path) -> str:
    """The file streamed from disk as the request body; the app's id for it."""
    with open(source, "rb") as body:
        response = session.post(
            f"{base_url}/api/uploads",
            params={"filename": source.name},
            data=body,
            headers={"Content-Type": "text/csv"},
            timeout=TIMEOUT_S,
        )
    return _checked(response, 201, "upload")["file_id"]


def score(session: requests.Session, base_url: str, model_path: str, file_id: str) -> dict:
    response = session.post(
        f"{base_url}/api/models/{model_path}/score/{file_id}", timeout=TIMEOUT_S
    )
    return _checked(response, 200, "score")


def download(session: requests.Session, base_url: str, file_id: str, target: Path) -> int:
    """The result streamed to disk block by block; bytes written."""
    written = 0
    with session.get(f"{base_url}/api/files/{file_id}", stream=True, timeout=TIMEOUT_S) as got:
        if got.status_code != 200:
            raise RuntimeError(f"download answered {got.status_code}: {got.text[:500]}")
        with open(target, "wb") as out:
            for block in got.iter_content(DOWNLOAD_BLOCK):
                written += out.write(block)
    return written


def app_pipeline(base_url: str, model_path: str, source: Path, target: Path) -> AppTimes:
    """``model_path`` is ``<name>/<ref>``; each step timed on its own, back to back."""
    with requests.Session() as session:
        started = time.perf_counter()
        file_id = upload(session, base_url, source)
        uploaded = time.perf_counter()
        scored = score(session, base_url, model_path, file_id)
        score_done = time.perf_counter()
        size = download(session, base_url, scored["result_file"]["file_id"], target)
        downloaded = time.perf_counter()
    return AppTimes(
        upload_s=uploaded - started,
        score_s=score_done - uploaded,
        download_s=downloaded - score_done,
        input_rows=int(scored["input_rows"]),
        failed_rows=int(scored["failed_rows"]),
        result_bytes=size,
    )


def post_pipeline(base_url: str, model_path: str, source: Path, target: Path) -> AppTimes:
    """The same file as one ``text/csv`` POST to the predict route, the answer streamed to
    disk; all of it counts as scoring."""
    started = time.perf_counter()
    with (
        open(source, "rb") as body,
        requests.post(
            f"{base_url}/api/models/{model_path}/predict",
            data=body,
            stream=True,
            headers={"Content-Type": "text/csv"},
            timeout=TIMEOUT_S,
        ) as answer,
    ):
        if answer.status_code != 200:
            raise RuntimeError(f"text/csv POST answered {answer.status_code}: {answer.text[:500]}")
        written = 0
        with open(target, "wb") as out:
            for block in answer.iter_content(DOWNLOAD_BLOCK):
                written += out.write(block)
        rows, failed = int(answer.headers["X-Input-Rows"]), int(answer.headers["X-Failed-Rows"])
    return AppTimes(0.0, time.perf_counter() - started, 0.0, rows, failed, written)


# -- correctness --------------------------------------------------------------------------


def _empty_cells(column: pa.ChunkedArray) -> bool:
    if pa.types.is_null(column.type):
        return True
    filled = pc.fill_null(column.cast(pa.string()), "")
    return bool(pc.all(pc.equal(filled, "")).as_py())


def verify(result: Path, expected: np.ndarray) -> tuple[bool, str]:
    """The downloaded file: every row, ids in order, no row errors, the same predictions."""
    options = pacsv.ConvertOptions(include_columns=[ID_COLUMN, "prediction", "error"])
    table = pacsv.read_csv(result, convert_options=options)
    rows = table.num_rows
    if rows != len(expected):
        return False, f"{rows:,} rows downloaded, {len(expected):,} expected"
    ids = table[ID_COLUMN].to_numpy()
    if not np.array_equal(ids, np.arange(1, rows + 1)):
        return False, "ids are not 1..N in order"
    if not _empty_cells(table["error"]):
        return False, "some rows have an error"
    got = table["prediction"].to_numpy()
    differ = int((got != expected.astype(got.dtype)).sum())
    if differ:
        return False, f"{differ:,} of {rows:,} predictions differ from in-process"
    return True, f"{rows:,} rows, predictions equal to in-process"
