"""The limit of a cold start: one bare Python process that does only what a first
prediction needs, and prints ``predicted`` once it has: it imports MLflow's pyfunc and
pandas, seeds the demo registry first when the data dir has none (as the console does),
reads the alias from the registry, loads that version and predicts one row. No web server,
no page, no audit. bench/cold_start.py times it from launch to that line.

    .venv/bin/python bench/cold_limit.py DATA_DIR MODEL_NAME ALIAS
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
PREDICTED = "predicted"


def predict_once(data_dir: Path, model_name: str, alias: str) -> None:
    import mlflow.pyfunc
    import pandas as pd
    from mlflow import MlflowClient

    sys.path.insert(0, str(ROOT))
    from services.settings import embedded_tracking_uri

    tracking_uri = embedded_tracking_uri(data_dir)
    if not (data_dir / "registry.db").exists():
        from services.registry.seeding import seed_by_hand  # as the console's seeding does

        if seed_by_hand(tracking_uri, data_dir) != 0:
            raise SystemExit(1)
    client = MlflowClient(tracking_uri, tracking_uri)
    version = client.get_model_version_by_alias(model_name, alias).version
    model = mlflow.pyfunc.load_model(client.get_model_version_download_uri(model_name, version))
    model.predict(pd.DataFrame([RECORD]))


if __name__ == "__main__":
    predict_once(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
    print(PREDICTED, flush=True)
