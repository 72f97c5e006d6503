"""Class probabilities as columns of a scored file (the CSV tab's option, the score route's
``?probabilities=true``): real models, the one table path, bad rows without probabilities."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from cachelib import SimpleCache

from services.access.audit import Source
from services.errors import ConsoleError
from services.files.service import ScoreOptions
from services.registry.demo import CHURN_MODEL, HOUSE_PRICE_MODEL, IRIS_MODEL, churn_frame
from services.wiring import build_services

IRIS_COLUMNS = ["probability_0", "probability_1", "probability_2"]


def _score(settings, caller, model, frame, chunk_rows=7, fmt="csv", ref="1"):
    services = build_services(replace(settings, predict_chunk_rows=chunk_rows), SimpleCache())
    files = services.files
    stored = files.upload(caller, "rows.csv", io.BytesIO(frame.to_csv(index=False).encode()))
    options = ScoreOptions(result_format=fmt, probabilities=True)
    scored = files.score_upload(caller, model, ref, stored.file_id, options, source=Source.CSV)
    path = files.store.path(caller, scored.output.file_id)
    table = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    return scored, table, services


def test_one_column_per_class_in_the_models_order_summing_to_one(settings, caller):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        rng.uniform(0.2, 7.0, size=(30, 4)),
        columns=["sepal_length", "sepal_width", "petal_length", "petal_width"],
    )
    scored, table, services = _score(settings, caller, IRIS_MODEL, frame)
    assert list(table.columns)[4:] == ["prediction", "prediction_label", *IRIS_COLUMNS, "error"]
    np.testing.assert_allclose(table[IRIS_COLUMNS].sum(axis=1), 1.0, atol=1e-9)
    _, model = services.scoring.loader.load(caller, IRIS_MODEL, "1")
    expected = model.pyfunc.get_raw_model().predict_proba(frame)
    np.testing.assert_allclose(table[IRIS_COLUMNS].to_numpy(), expected, atol=1e-9)
    # the predicted class is the most likely one, column by column in class order
    assert (table[IRIS_COLUMNS].to_numpy().argmax(axis=1) == table["prediction"]).all()
    assert scored.confidence["total"] == 30 and sum(scored.confidence["counts"]) == 30


def test_bad_rows_get_an_error_and_no_probabilities(settings, caller):
    customers = churn_frame(25, seed=8).astype({"age": object})
    customers.loc[[3, 19], "age"] = "unknown"  # one bad row in two of the chunks
    scored, table, _ = _score(settings, caller, CHURN_MODEL, customers, fmt="parquet")
    columns = ["probability_0", "probability_1"]
    bad = table["error"].notna()
    assert bad.tolist() == [i in (3, 19) for i in range(25)]
    assert table.loc[bad, columns].isna().all().all()
    np.testing.assert_allclose(table.loc[~bad, columns].sum(axis=1), 1.0, atol=1e-9)
    assert scored.failed_rows == 2 and scored.confidence["total"] == 23


def test_a_chunk_of_only_bad_rows_still_has_the_columns(settings, caller):
    customers = churn_frame(6, seed=2).astype({"age": object})
    customers.loc[:2, "age"] = "?"  # the whole first chunk is bad
    _, table, _ = _score(settings, caller, CHURN_MODEL, customers, chunk_rows=3, fmt="parquet")
    assert table["probability_1"].isna().tolist() == [True] * 3 + [False] * 3


def test_a_model_without_probabilities_says_so(settings, caller):
    frame = pd.DataFrame(
        {
            "living_area_sqm": [80.0],
            "bedrooms": [2],
            "age_years": [10],
            "distance_to_center_km": [3.0],
        }
    )
    with pytest.raises(ConsoleError, match="gives no class probabilities") as raised:
        _score(settings, caller, HOUSE_PRICE_MODEL, frame)
    assert raised.value.http_status == 422


def test_score_route_takes_probabilities_true(client):
    customers = churn_frame(40, seed=31)
    stored = client.post(
        "/api/uploads?filename=c.csv", data=customers.to_csv(index=False), content_type="text/csv"
    ).get_json()
    route = f"/api/models/{CHURN_MODEL}/Champion/score/{stored['file_id']}"
    plain = client.post(route).get_json()
    assert plain["confidence"] is None
    body = client.post(f"{route}?probabilities=true").get_json()
    assert body["confidence"]["total"] == 40
    result = pd.read_csv(
        io.BytesIO(client.get(f"/api/files/{body['result_file']['file_id']}").data)
    )
    assert list(result.columns[-3:]) == ["probability_0", "probability_1", "error"]
    np.testing.assert_allclose(result[["probability_0", "probability_1"]].sum(axis=1), 1, atol=1e-9)
    without = pd.read_csv(
        io.BytesIO(client.get(f"/api/files/{plain['result_file']['file_id']}").data)
    )
    assert not [c for c in without.columns if c.startswith("probability_")]
    regressor = client.post(
        f"/api/models/{HOUSE_PRICE_MODEL}/1/score/{stored['file_id']}?probabilities=true"
    )
    assert regressor.status_code in (400, 422)


def test_csv_body_to_predict_takes_probabilities_true(client):
    customers = churn_frame(5, seed=3)
    response = client.post(
        f"/api/models/{CHURN_MODEL}/1/predict?probabilities=true",
        data=customers.to_csv(index=False),
        content_type="text/csv",
    )
    assert response.status_code == 200
    result = pd.read_csv(io.BytesIO(response.data))
    assert {"probability_0", "probability_1"} <= set(result.columns)
