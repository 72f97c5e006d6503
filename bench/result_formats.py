"""Result formats of a scored CSV: Parquet (zstd, snappy) against the CSV result, same run.

    .venv/bin/python bench/result_formats.py [--rows 1000000] [--repeat 3]

One iris CSV (id + 4 features), scored once per reading mode; then each writer writes the same
scored chunks (medians of ``--repeat`` interleaved runs), and ``CsvService.score`` runs end to
end per format. Prints write time, file size, end-to-end time and the time to read the result
back with pyarrow, each with its ratio to CSV, and checks the Parquet predictions equal the
CSV's. Everything lives in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from bigcsv import write_iris_csv
from report import text_table
from run import project_on_path, seed_registry

if TYPE_CHECKING:
    import pandas as pd

    from services.csv_service import CsvService
    from services.signature import SignatureInfo

PARQUET_VARIANTS = ("zstd", "snappy")


def build(data_dir: Path, tracking_uri: str) -> CsvService:
    from cachelib import SimpleCache

    from services.bootstrap import build_console
    from services.config import Settings
    from services.csv_service import CsvService
    from services.files import UserFiles

    settings = Settings.from_env(
        app_data_dir=data_dir,
        tracking_uri=tracking_uri,
        registry_uri=tracking_uri,
        embedded_registry=True,
    )
    console = build_console(settings, SimpleCache())
    return CsvService(console, UserFiles(data_dir / "files"))


def scored_chunks(csv: CsvService, source: Path, passthrough_as_text: bool) -> list[pd.DataFrame]:
    from services.config import DEMO_MODEL
    from services.csv_io import iter_csv
    from services.identity import LOCAL_CALLER

    _, model = csv.console.load(LOCAL_CALLER, DEMO_MODEL, "Champion")
    rows = csv.console.settings.predict_chunk_rows
    chunks: list[pd.DataFrame] = []
    frames = iter_csv(source, model.signature, rows, passthrough_as_text)
    csv.console.score_frames(LOCAL_CALLER, DEMO_MODEL, "Champion", frames, chunks.append)
    return chunks


def writers(signature: SignatureInfo) -> dict[str, tuple[Callable, bool]]:
    """Name → (open a writer on a handle, reads pass-through columns as text)."""
    from services.parquet_result import parquet_writer
    from services.results import csv_writer

    chosen = {"csv": (lambda h: csv_writer(h, signature), False)}
    for codec in PARQUET_VARIANTS:
        chosen[f"parquet {codec}"] = (
            lambda h, c=codec: parquet_writer(h, signature, compression=c),
            True,
        )
    return chosen


def time_write(open_writer: Callable, chunks: list[pd.DataFrame], target: Path) -> float:
    started = time.perf_counter()
    with open(target, "wb") as handle, open_writer(handle) as write:
        for chunk in chunks:
            write(chunk)
    return time.perf_counter() - started


def time_read(path: Path, fmt: str) -> float:
    started = time.perf_counter()
    (pq.read_table if fmt == "parquet" else pacsv.read_csv)(path)
    return time.perf_counter() - started


def end_to_end(csv: CsvService, file_id: str, fmt: str) -> tuple[float, Path]:
    from services.config import DEMO_MODEL
    from services.identity import LOCAL_CALLER

    started = time.perf_counter()
    done = csv.score(LOCAL_CALLER, DEMO_MODEL, "Champion", file_id, result_format=fmt)
    return time.perf_counter() - started, csv.files.path(LOCAL_CALLER, done.download.file_id)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def run(args: argparse.Namespace, work: Path) -> int:
    from services.config import DEMO_MODEL
    from services.demo_registry import IRIS_FEATURES
    from services.identity import LOCAL_CALLER

    csv = build(work, seed_registry(work))
    source = work / "iris.csv"
    size = write_iris_csv(source, args.rows, IRIS_FEATURES)
    with open(source, "rb") as upload:
        stored = csv.store_stream(LOCAL_CALLER, "iris.csv", upload, 2**40)
    _, model = csv.console.load(LOCAL_CALLER, DEMO_MODEL, "Champion")
    chunks = {text: scored_chunks(csv, source, text) for text in (False, True)}

    chosen = writers(model.signature)
    write_s: dict[str, list[float]] = {name: [] for name in chosen}
    sizes: dict[str, int] = {}
    for turn in range(args.repeat):
        for name, (open_writer, text) in chosen.items():
            target = work / f"out-{name.replace(' ', '-')}-{turn}"
            write_s[name].append(time_write(open_writer, chunks[text], target))
            sizes[name] = target.stat().st_size
            target.unlink()

    e2e: dict[str, list[float]] = {"csv": [], "parquet": []}
    reads: dict[str, list[float]] = {"csv": [], "parquet": []}
    results: dict[str, Path] = {}
    for _ in range(args.repeat):
        for fmt in e2e:
            seconds, results[fmt] = end_to_end(csv, stored.file_id, fmt)
            e2e[fmt].append(seconds)
            reads[fmt].append(time_read(results[fmt], fmt))

    base_write = statistics.median(write_s["csv"])
    rows = [
        [
            name,
            f"{statistics.median(write_s[name]):.2f}",
            ratio(statistics.median(write_s[name]), base_write),
            f"{sizes[name] / 1e6:.1f}",
            ratio(sizes[name], sizes["csv"]),
        ]
        for name in chosen
    ]
    print(f"\n{args.rows:,} iris rows scored, {size / 1e6:.1f} MB CSV in; writer alone:")
    print(text_table(rows, ["writer", "write s", "vs csv", "MB", "vs csv"]))
    base_e2e, base_read = statistics.median(e2e["csv"]), statistics.median(reads["csv"])
    rows = [
        [
            fmt,
            f"{statistics.median(e2e[fmt]):.2f}",
            ratio(statistics.median(e2e[fmt]), base_e2e),
            f"{statistics.median(reads[fmt]):.3f}",
            ratio(statistics.median(reads[fmt]), base_read),
        ]
        for fmt in e2e
    ]
    print("\nCsvService.score end to end, and reading the result back with pyarrow:")
    print(text_table(rows, ["format", "score s", "vs csv", "read s", "vs csv"]))
    same = (
        pq.read_table(results["parquet"])["prediction"].to_pylist()
        == pacsv.read_csv(results["csv"])["prediction"].to_pylist()
    )
    print(f"\nParquet predictions equal the CSV's: {'PASS' if same else 'FAIL'}")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with project_on_path(), tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
