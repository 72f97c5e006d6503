"""What an evaluation costs and whether its memory stays flat: a labelled iris CSV of each
size evaluated Champion against Challenger (the job's path: EvaluationService.evaluate_file),
each size in a fresh process so its peak resident memory is its own, against the smallest.

    nice -n 19 .venv/bin/python -m bench.evaluation [rows ...]   # default: 100000 10000000
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.demo_services import demo_services
from services.access.caller import LOCAL_CALLER
from services.evaluation.service import Request
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

CHUNK_ROWS = 500_000
MEANS = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
SPREAD = np.array([[0.35, 0.38, 0.17, 0.1], [0.5, 0.3, 0.47, 0.2], [0.63, 0.32, 0.55, 0.27]])


def write_labelled_csv(path: Path, rows: int, seed: int = 0) -> int:
    """``rows`` flowers drawn around each species' means, with the species as the label."""
    rng = np.random.default_rng(seed)
    writer = None
    for first in range(0, rows, CHUNK_ROWS):
        count = min(CHUNK_ROWS, rows - first)
        species = rng.integers(0, 3, count)
        values = (MEANS[species] + rng.normal(0, 1, (count, 4)) * SPREAD[species]).round(1)
        table = pa.table(
            {**{f: values[:, i] for i, f in enumerate(IRIS_FEATURES)}, "species": species}
        )
        writer = writer or pacsv.CSVWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return path.stat().st_size


def one(folder: Path, path: Path) -> None:
    """In a fresh process: evaluate ``path`` and print seconds and peak RSS as JSON."""
    from cachelib import SimpleCache

    from services.wiring import build_services
    from tests.conftest import settings_for

    services = build_services(settings_for(folder), SimpleCache())
    with open(path, "rb") as body:
        stored = services.files.upload(LOCAL_CALLER, path.name, body)
    request = Request(["Champion", "Challenger"], "species", None)
    started = time.perf_counter()
    evaluation = services.evaluation.evaluate_file(
        LOCAL_CALLER, IRIS_MODEL, request, stored.file_id, on_progress=lambda progress: None
    )
    seconds = time.perf_counter() - started
    services.files.store.remove(LOCAL_CALLER, stored.file_id)
    services.audit.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    accuracy = [v["metrics"]["accuracy"] for v in evaluation.body["versions"]]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak": peak,
                "rows": evaluation.body["rows"],
                "accuracy": accuracy,
                "summary": evaluation.body["comparison"]["summary"],
            }
        )
    )


def measure(folder: Path, sizes: list[int]) -> None:
    print("| rows | file | evaluation | rows/s | peak RSS | vs smallest |")
    print("|---:|---:|---:|---:|---:|---:|")
    smallest = None
    verdicts = []
    for rows in sizes:
        path = folder / f"iris-labelled-{rows}.csv"
        size = write_labelled_csv(path, rows)
        answer = subprocess.run(
            [sys.executable, "-m", "bench.evaluation", "--one", str(folder), str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        found = json.loads(answer.stdout.strip().splitlines()[-1])
        path.unlink()
        assert found["rows"] == rows
        peak_mb = found["peak"] / 2**20
        smallest = smallest or peak_mb
        print(
            f"| {rows:,} | {size / 2**20:,.1f} MB | {found['seconds']:.1f} s | "
            f"{rows / found['seconds']:,.0f} | {peak_mb:,.0f} MB | {peak_mb / smallest:.2f}x |",
            flush=True,
        )
        verdicts.append((rows, found["summary"]))
    print()
    print("| rows | verdict |")
    print("|---:|---|")
    for rows, summary in verdicts:
        print(f"| {rows:,} | {summary} |")


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["--one"]:
        one(Path(arguments[1]), Path(arguments[2]))
        return 0
    sizes = [int(a) for a in arguments] or [100_000, 10_000_000]
    with demo_services("bench-evaluation-") as services:
        measure(services.settings.app_data_dir, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
