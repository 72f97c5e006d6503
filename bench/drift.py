"""What drift costs a CSV job: the same iris file scored through FileService with and
without drift, in one process, alternating, best of a few runs; plus the drift tally alone
over the same chunks (the part drift adds, free of the job's noise).

    nice -n 19 .venv/bin/python -m bench.drift [rows ...]    # default: 1000000 10000000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.bigcsv import write_iris_csv
from bench.demo_services import demo_services
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.files.csv_io import iter_csv
from services.files.service import ScoreOptions
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL
from services.wiring import ConsoleServices

RUNS = {1_000_000: 3, 10_000_000: 1}


def _job(services, file_id: str, drift: bool) -> float:
    started = time.perf_counter()
    options = ScoreOptions(drift=drift)
    scored = services.files.score_upload(LOCAL_CALLER, IRIS_MODEL, "Champion", file_id, options)
    seconds = time.perf_counter() - started
    services.files.store.remove(LOCAL_CALLER, scored.output.file_id)
    assert (scored.drift is not None) == drift
    return seconds


def _tally_alone(services, path: Path) -> float:
    """Reading is timed apart and taken off: only ``tally.add`` is what drift adds."""
    with services.scoring.use(LOCAL_CALLER, IRIS_MODEL, "Champion", Source.API) as use:
        tally = services.drift.tally(LOCAL_CALLER, use)
        signature = use.model.signature
    spent = 0.0
    for chunk in iter_csv(path, signature, services.settings.predict_chunk_rows):
        started = time.perf_counter()
        tally.add(chunk)
        spent += time.perf_counter() - started
    return spent


def measure(services: ConsoleServices, sizes: list[int]) -> None:
    folder = services.settings.app_data_dir
    print("| rows | job without drift | job with drift | overhead | drift tally alone |")
    print("|---:|---:|---:|---:|---:|")
    for rows in sizes:
        path = folder / f"iris-{rows}.csv"
        write_iris_csv(path, rows, IRIS_FEATURES)
        with open(path, "rb") as body:
            stored = services.files.upload(LOCAL_CALLER, path.name, body)
        if rows == sizes[0]:
            _job(services, stored.file_id, True)  # warm: model, reference
        without, with_drift = [], []
        for _ in range(RUNS.get(rows, 1)):
            without.append(_job(services, stored.file_id, False))
            with_drift.append(_job(services, stored.file_id, True))
        base, extra = min(without), min(with_drift)
        alone = _tally_alone(services, services.files.store.path(LOCAL_CALLER, stored.file_id))
        print(
            f"| {rows:,} | {base:.1f} s | {extra:.1f} s | {(extra - base) / base:+.1%} | "
            f"{alone:.2f} s ({alone / base:.1%}) |",
            flush=True,
        )
        services.files.store.remove(LOCAL_CALLER, stored.file_id)
        path.unlink()


def main(sizes: list[int]) -> int:
    with demo_services("bench-drift-") as services:
        measure(services, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000]))
