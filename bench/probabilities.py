"""The cost of the CSV tab's class probabilities (``probability_<class>`` columns and the
confidence histogram) on a whole CSV job, against the same job without them, measured in the
same run; and one what-if answer (predict, explain, ICE) against one prediction.

    nice -n 19 .venv/bin/python -m bench.probabilities
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from cachelib import SimpleCache

from bench.timing import best_seconds
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.files.service import ScoreOptions
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame, ensure_demo_models
from services.settings import embedded_tracking_uri
from services.wiring import build_services
from tests.conftest import VIRGINICA, settings_for

ROWS, REPEATS = 300_000, 3


def _best(action, repeats: int = REPEATS) -> float:
    return best_seconds(action, repeats)


def _iris(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.uniform(0.2, 7.0, size=(rows, 4)), columns=list(VIRGINICA))


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    ensure_demo_models(embedded_tracking_uri(folder), folder)
    services = build_services(settings_for(folder), SimpleCache())
    files = services.files
    print(f"| CSV job, {ROWS:,} rows | without | with probabilities | extra |")
    print("|---|---|---|---|")
    cases = [
        ("iris forest (3 classes)", IRIS_MODEL, _iris(ROWS)),
        ("churn pipeline (2 classes)", CHURN_MODEL, churn_frame(ROWS)),
    ]
    for label, name, frame in cases:
        data = io.BytesIO(frame.to_csv(index=False).encode())
        stored = files.upload(LOCAL_CALLER, "rows.csv", data)

        def job(probabilities: bool, name=name, stored=stored) -> None:
            options = ScoreOptions(probabilities=probabilities)
            files.score_upload(LOCAL_CALLER, name, "1", stored.file_id, options)

        plain, full = _best(lambda: job(False)), _best(lambda: job(True))
        print(f"| {label} | {plain:.2f} s | {full:.2f} s | {100 * (full / plain - 1):+.0f} % |")
    record = churn_frame(1).to_dict("records")[0]

    def what_if() -> None:
        services.explain.what_if(LOCAL_CALLER, CHURN_MODEL, "1", record, "tenure_months")

    def predict() -> None:
        services.scoring.predict(LOCAL_CALLER, CHURN_MODEL, "1", record, source=Source.FORM)

    what_if()  # builds the explainer once
    answer, one = _best(what_if, 20) * 1000, _best(predict, 20) * 1000
    print(
        f"\nwhat-if answer (churn, predict + explain + 25-point ICE): {answer:.1f} ms; "
        f"one prediction {one:.1f} ms"
    )


if __name__ == "__main__":
    main()
