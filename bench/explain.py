"""Explanation latency per method (tree, linear, model-agnostic) and the cost of the CSV
job's prediction distribution on 1,000,000 rows, against predicting those rows.

    nice -n 19 .venv/bin/python -m bench.explain [--rows 1000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from bench.demo_services import demo_services
from bench.timing import best_seconds
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, house_frame
from services.scoring.distribution import Distribution
from services.wiring import ConsoleServices
from tests.conftest import VIRGINICA
from tests.explain_models import FORMULA_MODEL, register_explain_models

CHUNK = 100_000


def explainers(services: ConsoleServices, repeat: int) -> None:
    churn = {
        "age": 40,
        "income": 50_000.0,
        "tenure_months": 10,
        "usage_gb": 3.0,
        "city": "Paris",
        "is_member": False,
    }
    cases = [
        ("tree (iris forest)", IRIS_MODEL, "1", VIRGINICA),
        ("linear (churn pipeline, one-hot)", CHURN_MODEL, "1", churn),
        (
            "model-agnostic (custom pyfunc)",
            FORMULA_MODEL,
            "1",
            house_frame(1).to_dict("records")[0],
        ),
    ]
    print("| explainer | first call (builds it) | one row, cached | predict, one row |")
    print("|---|---|---|---|")
    for label, name, ref, record in cases:

        def explain(name=name, ref=ref, record=record):
            return services.explain.explain(LOCAL_CALLER, name, ref, record, source=Source.API)

        def predict(name=name, ref=ref, record=record):
            return services.scoring.predict(LOCAL_CALLER, name, ref, record, source=Source.API)

        first = best_seconds(explain, 1)
        print(
            f"| {label} | {first * 1000:.0f} ms | {best_seconds(explain, repeat) * 1000:.1f} ms | "
            f"{best_seconds(predict, repeat) * 1000:.1f} ms |"
        )


def distribution(services: ConsoleServices, rows: int) -> None:
    model = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "1")[1]
    frame = pd.concat([pd.DataFrame([VIRGINICA])] * rows, ignore_index=True)
    frame.iloc[::3] = list(house_frame(1).iloc[0])[:4]
    started = time.perf_counter()
    chunks = [
        pd.Series(model.pyfunc.predict(frame.iloc[i : i + CHUNK])) for i in range(0, rows, CHUNK)
    ]
    predicting = time.perf_counter() - started

    def accumulate() -> None:
        distribution = Distribution()
        for chunk in chunks:
            distribution.add(chunk)

    counting = best_seconds(accumulate, 5)
    print(
        f"\n{rows:,} iris rows: predicting {predicting:.2f} s, distribution {counting:.3f} s "
        f"({100 * counting / predicting:.2f} % of predicting alone)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the distribution")
    parser.add_argument("--repeat", type=int, default=20, help="cached calls, best kept")
    args = parser.parse_args(argv)
    with demo_services("bench-explain-", register_explain_models) as services:
        explainers(services, args.repeat)
        distribution(services, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
