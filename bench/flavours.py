"""One row through each real flavour: predict (the JSON API's service call) and the exact tree
explanation, beside the demo's scikit-learn forest measured in the same run.

    nice -n 19 .venv/bin/python -m bench.flavours   # needs requirements-dev.txt (xgboost, lightgbm)
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from cachelib import SimpleCache

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import IRIS_MODEL, ensure_demo_models
from services.settings import embedded_tracking_uri
from services.wiring import build_services
from tests.conftest import VIRGINICA, settings_for
from tests.flavour_models import (
    CLASSIFIER,
    REGRESSOR,
    house_frame,
    iris_frame,
    register_flavour_models,
)

REPEATS = 200


def _median_ms(action, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    demo = folder / "demo"
    demo.mkdir()
    ensure_demo_models(embedded_tracking_uri(demo), demo)
    register_flavour_models(folder / "flavours")
    iris_row = iris_frame()[0].iloc[100].to_dict()
    house_row = house_frame()[0].iloc[0].to_dict()
    cases = [
        ("scikit-learn forest (baseline)", settings_for(demo), IRIS_MODEL, "1", VIRGINICA),
        ("XGBoost classifier", settings_for(folder / "flavours"), CLASSIFIER, "1", iris_row),
        ("LightGBM classifier", settings_for(folder / "flavours"), CLASSIFIER, "2", iris_row),
        ("XGBoost regressor", settings_for(folder / "flavours"), REGRESSOR, "1", house_row),
        ("LightGBM regressor", settings_for(folder / "flavours"), REGRESSOR, "2", house_row),
    ]
    print("| model | predict, one row | explain, one row (cached explainer) |")
    print("|---|---|---|")
    for label, settings, name, ref, record in cases:
        services = build_services(settings, SimpleCache())

        def predict(services=services, name=name, ref=ref, record=record):
            return services.scoring.predict(LOCAL_CALLER, name, ref, record, source=Source.API)

        def explain(services=services, name=name, ref=ref, record=record):
            return services.explain.explain(LOCAL_CALLER, name, ref, record, source=Source.API)

        predict(), explain()  # load the model and build its explainer
        print(f"| {label} | {_median_ms(predict):.2f} ms | {_median_ms(explain):.2f} ms |")


if __name__ == "__main__":
    main()
