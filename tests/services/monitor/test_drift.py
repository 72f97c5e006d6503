"""Drift of scored files against the training reference, on the demo models' references."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from cachelib import SimpleCache

from services.access.audit import AuditLog
from services.monitor.drift import MIN_ROWS, DriftTally, psi
from services.registry.demo import CHURN_MODEL, IRIS_FEATURES, IRIS_MODEL, churn_frame
from services.wiring import build_services


@pytest.fixture
def own(settings, tmp_path):
    """Services with an audit database (and so drift summaries) of their own."""
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    services = build_services(replace(settings, app_data_dir=tmp_path), SimpleCache(), audit)
    yield services
    audit.close()


def iris(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    from sklearn.datasets import load_iris

    frame = pd.DataFrame(load_iris().data, columns=IRIS_FEATURES)
    return frame.sample(rows, replace=True, random_state=seed).reset_index(drop=True)


def score(services, caller, frame: pd.DataFrame, name: str = IRIS_MODEL, filename="rows.csv"):
    stored = services.files.upload(caller, filename, io.BytesIO(frame.to_csv(index=False).encode()))
    return services.files.score_upload(caller, name, "Champion", stored.file_id)


def test_a_column_shifted_outside_training_is_flagged_and_no_other(own, caller):
    shifted = iris().assign(petal_length=lambda f: f["petal_length"] + 10)
    drift = score(own, caller, shifted).drift
    assert drift["flagged"] == ["petal_length"] and not drift["indicative"]
    top = drift["columns"][0]
    assert (top["column"], top["outside_range"]) == ("petal_length", 1.0)
    assert top["psi"] > 1
    assert all(c["psi"] < 0.2 for c in drift["columns"][1:])
    assert drift["reference"]["source"] == "training reference"


def test_unshifted_rows_are_not_flagged(own, caller):
    drift = score(own, caller, iris(seed=3)).drift
    assert drift["flagged"] == [] and drift["rows"] == 600
    assert all(c["outside_range"] == 0 for c in drift["columns"])


def test_a_twenty_row_file_is_indicative_and_raises_no_alarm(own, caller):
    drift = score(own, caller, iris(20, seed=5)).drift
    assert drift["indicative"] and drift["rows"] == 20 < MIN_ROWS
    assert drift["flagged"] == []


def test_an_unseen_category_is_counted(own, caller):
    frame = churn_frame(400, seed=1)
    frame.loc[:39, "city"] = "Tokyo"
    drift = score(own, caller, frame, CHURN_MODEL).drift
    city = next(c for c in drift["columns"] if c["column"] == "city")
    assert (city["unseen_rows"], city["unseen"]) == (40, 0.1)
    assert city["missing"] == 0


def test_missing_values_are_counted():
    tally = DriftTally.against(pd.DataFrame({"x": np.arange(100.0)}), {})
    tally.add(pd.DataFrame({"x": [1.0, None, 3.0, None]}))
    assert tally.summary()["columns"][0]["missing"] == 0.5
    assert psi(np.array([0.5, 0.5]), np.array([50, 50])) == 0


def test_monitoring_lists_the_jobs_in_order(own, caller, client):
    score(own, caller, iris(seed=1), filename="monday.csv")
    score(
        own,
        caller,
        iris(seed=2).assign(sepal_width=lambda f: f["sepal_width"] * 3),
        filename="tuesday.csv",
    )
    history = own.drift.history(caller, IRIS_MODEL, "Champion")
    assert [s["label"] for s in history["summaries"]] == ["monday.csv", "tuesday.csv"]
    assert [s["flagged"] for s in history["summaries"]] == [[], ["sepal_width"]]
    later = own.drift.history(caller, IRIS_MODEL, "1", since="2999-01-01")
    assert later["summaries"] == []
    body = client.get(f"/api/models/{IRIS_MODEL}/Champion/drift?since=2000-01-01").get_json()
    assert body["version"] == "1" and isinstance(body["summaries"], list)
    bad = client.get(f"/api/models/{IRIS_MODEL}/Champion/drift?since=yesterday")
    assert bad.status_code == 400 and "is not a time" in bad.get_json()["message"]


def test_the_api_carries_drift_for_files_and_on_request_for_json(client):
    rows = iris(150, seed=9).assign(petal_width=lambda f: f["petal_width"] + 5)
    upload = client.post(
        "/api/uploads?filename=api.csv", data=rows.to_csv(index=False), content_type="text/csv"
    ).get_json()
    summary = client.post(f"/api/models/{IRIS_MODEL}/Champion/score/{upload['file_id']}").get_json()
    assert summary["drift"]["flagged"] == ["petal_width"]
    url = f"/api/models/{IRIS_MODEL}/Champion/predict"
    body = client.post(f"{url}?drift=true", json=rows.to_dict(orient="records")).get_json()
    assert body["drift"]["flagged"] == ["petal_width"] and len(body["predictions"]) == 150
    assert "drift" not in client.post(url, json=rows.head(1).to_dict(orient="records")).get_json()


def test_only_the_owner_of_a_file_sees_its_name(own, caller):
    from services.access.caller import Caller

    score(own, caller, iris(seed=4), filename="private-name.csv")
    other = Caller(user="someone.else@example.com")
    seen = own.drift.history(other, IRIS_MODEL, "Champion")["summaries"][-1]
    assert (seen["label"], seen["mine"]) == ("another user's file", False)
    assert own.drift.history(caller, IRIS_MODEL, "Champion")["summaries"][-1]["mine"]
