"""Explanation latency per method (tree, linear, model-agnostic) and the cost of the CSV
job's prediction distribution on 1,000,000 rows, against predicting those rows.

    nice -n 19 .venv/bin/python -m bench.explain
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
from cachelib import SimpleCache

from bench.timing import best_seconds
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, ensure_demo_models, house_frame
from services.scoring.distribution import Distribution
from services.settings import embedded_tracking_uri
from services.wiring import build_services
from tests.conftest import VIRGINICA, settings_for
from tests.explain_models import FORMULA_MODEL, register_explain_models

ROWS, CHUNK, REPEATS = 1_000_000, 100_000, 20


def _best(action, repeats: int = REPEATS) -> float:
    return best_seconds(action, repeats)


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    ensure_demo_models(embedded_tracking_uri(folder), folder)
    register_explain_models(embedded_tracking_uri(folder), folder)
    services = build_services(settings_for(folder), SimpleCache())
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

        first = _best(explain, 1)
        print(
            f"| {label} | {first * 1000:.0f} ms | {_best(explain) * 1000:.1f} ms | "
            f"{_best(predict) * 1000:.1f} ms |"
        )
    model = services.scoring.loader.load(LOCAL_CALLER, IRIS_MODEL, "1")[1]
    frame = pd.concat([pd.DataFrame([VIRGINICA])] * ROWS, ignore_index=True)
    frame.iloc[::3] = list(house_frame(1).iloc[0])[:4]
    started = time.perf_counter()
    chunks = [
        pd.Series(model.pyfunc.predict(frame.iloc[i : i + CHUNK])) for i in range(0, ROWS, CHUNK)
    ]
    predicting = time.perf_counter() - started

    def accumulate() -> None:
        distribution = Distribution()
        for chunk in chunks:
            distribution.add(chunk)

    counting = _best(accumulate, 5)
    print(
        f"\n{ROWS:,} iris rows: predicting {predicting:.2f} s, distribution {counting:.3f} s "
        f"({100 * counting / predicting:.2f} % of predicting alone)"
    )


if __name__ == "__main__":
    main()
