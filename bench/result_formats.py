"""Result formats of a scored CSV: Parquet (zstd, snappy) against the CSV result, same run.

    .venv/bin/python bench/result_formats.py [--rows 1000000] [--repeat 3]

One iris CSV (id + 4 features), scored once per reading mode; then each writer writes the same
scored chunks (medians of ``--repeat`` interleaved runs), and ``FileService.score`` runs end to
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

    from services.files.service import FileService
    from services.registry.signature import SignatureInfo
    from services.wiring import ConsoleServices

PARQUET_VARIANTS = ("zstd", "snappy")


def build(data_dir: Path, tracking_uri: str) -> ConsoleServices:
    from cachelib import SimpleCache

    from services.settings import Settings
    from services.wiring import build_services

    settings = Settings.from_env(
        app_data_dir=data_dir,
        tracking_uri=tracking_uri,
        registry_uri=tracking_uri,
        embedded_registry=True,
    )
    return build_services(settings, SimpleCache())


def scored_chunks(files: FileService, source: Path, as_text: bool) -> list[pd.DataFrame]:
    from services.access.audit import Source
    from services.access.caller import LOCAL_CALLER
    from services.files.csv_io import iter_csv
    from services.scoring.tables import BadRows
    from services.settings import DEMO_MODEL

    with files.scoring.use(LOCAL_CALLER, DEMO_MODEL, "Champion", Source.CSV) as use:
        rows = files.settings.predict_chunk_rows
        frames = iter_csv(source, use.model.signature, rows, as_text)
        return list(files.scoring.table(use, BadRows.MARK).frames(frames))


def writers(signature: SignatureInfo) -> dict[str, tuple[Callable, bool]]:
    """Name → (open a writer on a handle, reads pass-through columns as text)."""
    from services.files.parquet import parquet_writer
    from services.files.results import csv_writer

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


def end_to_end(files: FileService, file_id: str, fmt: str) -> tuple[float, Path]:
    from services.access.caller import LOCAL_CALLER
    from services.files.service import ScoreOptions
    from services.settings import DEMO_MODEL

    started = time.perf_counter()
    options = ScoreOptions(result_format=fmt)
    done = files.score_upload(LOCAL_CALLER, DEMO_MODEL, "Champion", file_id, options)
    return time.perf_counter() - started, files.store.path(LOCAL_CALLER, done.output.file_id)


def time_writers(
    chosen: dict[str, tuple[Callable, bool]],
    chunks: dict[bool, list[pd.DataFrame]],
    work: Path,
    repeat: int,
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Each writer on the same scored chunks, taking turns: seconds per run, file size."""
    write_s: dict[str, list[float]] = {name: [] for name in chosen}
    sizes: dict[str, int] = {}
    for turn in range(repeat):
        for name, (open_writer, text) in chosen.items():
            target = work / f"out-{name.replace(' ', '-')}-{turn}"
            write_s[name].append(time_write(open_writer, chunks[text], target))
            sizes[name] = target.stat().st_size
            target.unlink()
    return write_s, sizes


def time_formats(
    files: FileService, file_id: str, repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, Path]]:
    """``FileService.score`` end to end per format, taking turns, and reading each result
    back: seconds per run, and the last result of each format."""
    e2e: dict[str, list[float]] = {"csv": [], "parquet": []}
    reads: dict[str, list[float]] = {"csv": [], "parquet": []}
    results: dict[str, Path] = {}
    for _ in range(repeat):
        for fmt in e2e:
            seconds, results[fmt] = end_to_end(files, file_id, fmt)
            e2e[fmt].append(seconds)
            reads[fmt].append(time_read(results[fmt], fmt))
    return e2e, reads, results


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def run(args: argparse.Namespace, work: Path) -> int:
    services = build(work, seed_registry(work))
    try:
        return measure(args, work, services.files)
    finally:
        services.close()  # its audit records stored before the data dir goes


def measure(args: argparse.Namespace, work: Path, files: FileService) -> int:
    from services.access.caller import LOCAL_CALLER
    from services.registry.demo import IRIS_FEATURES
    from services.settings import DEMO_MODEL

    source = work / "iris.csv"
    size = write_iris_csv(source, args.rows, IRIS_FEATURES)
    with open(source, "rb") as upload:
        stored = files.store.save_stream(LOCAL_CALLER, "iris.csv", upload, 2**40)
    _, model = files.scoring.loader.load(LOCAL_CALLER, DEMO_MODEL, "Champion")
    chunks = {text: scored_chunks(files, source, text) for text in (False, True)}

    chosen = writers(model.signature)
    write_s, sizes = time_writers(chosen, chunks, work, args.repeat)
    e2e, reads, results = time_formats(files, stored.file_id, args.repeat)
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
    print("\nFileService.score end to end, and reading the result back with pyarrow:")
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
