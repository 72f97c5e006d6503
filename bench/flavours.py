"""One row through each real flavour: predict (the JSON API's service call) and the exact tree
explanation, beside the demo's scikit-learn forest measured in the same run.

    nice -n 19 .venv/bin/python -m bench.flavours [--repeat 200]   # needs requirements-dev.txt
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cachelib import SimpleCache

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import IRIS_MODEL, ensure_demo_models
from services.settings import Settings, embedded_tracking_uri
from services.wiring import build_services
from tests.conftest import VIRGINICA, settings_for
from tests.flavour_models import (
    CLASSIFIER,
    REGRESSOR,
    house_frame,
    iris_frame,
    register_flavour_models,
)


def _median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(folder: Path, repeat: int) -> None:
    demo = folder / "demo"
    demo.mkdir()
    ensure_demo_models(embedded_tracking_uri(demo), demo)
    register_flavour_models(folder / "flavours")
    iris_row = iris_frame()[0].iloc[100].to_dict()
    house_row = house_frame()[0].iloc[0].to_dict()
    flavours = settings_for(folder / "flavours")
    cases: list[tuple[str, Settings, str, str, dict]] = [
        ("scikit-learn forest (baseline)", settings_for(demo), IRIS_MODEL, "1", VIRGINICA),
        ("XGBoost classifier", flavours, CLASSIFIER, "1", iris_row),
        ("LightGBM classifier", flavours, CLASSIFIER, "2", iris_row),
        ("XGBoost regressor", flavours, REGRESSOR, "1", house_row),
        ("LightGBM regressor", flavours, REGRESSOR, "2", house_row),
    ]
    print("| model | predict, one row | explain, one row (cached explainer) |")
    print("|---|---|---|")
    for label, settings, name, ref, record in cases:
        services = build_services(settings, SimpleCache())

        def predict(services=services, name=name, ref=ref, record=record):
            return services.scoring.predict(LOCAL_CALLER, name, ref, record, source=Source.API)

        def explain(services=services, name=name, ref=ref, record=record):
            return services.explain.explain(LOCAL_CALLER, name, ref, record, source=Source.API)

        try:
            predict(), explain()  # load the model and build its explainer
            timings = _median_ms(predict, repeat), _median_ms(explain, repeat)
        finally:
            services.audit.close()  # its writer must not outlive the folder
        print(f"| {label} | {timings[0]:.2f} ms | {timings[1]:.2f} ms |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls, median kept")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-flavours-") as folder:
        measure(Path(folder), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
