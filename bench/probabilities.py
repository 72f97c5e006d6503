"""The cost of the CSV tab's class probabilities (``probability_<class>`` columns and the
confidence histogram) on a whole CSV job, against the same job without them, measured in the
same run; and one what-if answer (predict, explain, ICE) against one prediction.

    nice -n 19 .venv/bin/python -m bench.probabilities [--rows 300000] [--repeat 3] [--calls 20]
"""

from __future__ import annotations

import argparse
import io
import sys

import numpy as np
import pandas as pd

from bench.demo_services import demo_services
from bench.timing import best_seconds
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.files.service import ScoreOptions
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from services.wiring import ConsoleServices
from tests.conftest import VIRGINICA


def _iris(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.uniform(0.2, 7.0, size=(rows, 4)), columns=list(VIRGINICA))


def csv_jobs(services: ConsoleServices, rows: int, repeat: int) -> None:
    files = services.files
    print(f"| CSV job, {rows:,} rows | without | with probabilities | extra |")
    print("|---|---|---|---|")
    cases = [
        ("iris forest (3 classes)", IRIS_MODEL, _iris(rows)),
        ("churn pipeline (2 classes)", CHURN_MODEL, churn_frame(rows)),
    ]
    for label, name, frame in cases:
        data = io.BytesIO(frame.to_csv(index=False).encode())
        stored = files.upload(LOCAL_CALLER, "rows.csv", data)

        def job(probabilities: bool, name=name, stored=stored) -> None:
            options = ScoreOptions(probabilities=probabilities)
            files.score_upload(LOCAL_CALLER, name, "1", stored.file_id, options)

        plain = best_seconds(lambda: job(False), repeat)
        full = best_seconds(lambda: job(True), repeat)
        print(f"| {label} | {plain:.2f} s | {full:.2f} s | {100 * (full / plain - 1):+.0f} % |")


def what_if_answer(services: ConsoleServices, calls: int) -> None:
    record = churn_frame(1).to_dict("records")[0]

    def what_if() -> None:
        services.explain.what_if(LOCAL_CALLER, CHURN_MODEL, "1", record, "tenure_months")

    def predict() -> None:
        services.scoring.predict(LOCAL_CALLER, CHURN_MODEL, "1", record, source=Source.FORM)

    what_if()  # builds the explainer once
    answer, one = best_seconds(what_if, calls) * 1000, best_seconds(predict, calls) * 1000
    print(
        f"\nwhat-if answer (churn, predict + explain + 25-point ICE): {answer:.1f} ms; "
        f"one prediction {one:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows of each CSV job")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each job, best kept")
    parser.add_argument("--calls", type=int, default=20, help="what-if and predict calls")
    args = parser.parse_args(argv)
    with demo_services("bench-probabilities-") as services:
        csv_jobs(services, args.rows, args.repeat)
        what_if_answer(services, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
