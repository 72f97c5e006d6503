"""Comparing versions on the same rows: real models, exact agreement and disagreements."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from layouts.features.compare import RECORD, comparison_view
from services.access.audit import Source
from services.compare.service import CompareService
from services.errors import InvalidInput
from services.registry.demo import (
    HOUSE_PRICE_MODEL,
    IRIS_FEATURES,
    IRIS_MODEL,
    house_frame,
    using_tracking_uri,
)
from tests.registry_models import TWO_SIGNATURES_MODEL

COMPARE = f"/api/models/{IRIS_MODEL}/compare"


def iris_rows() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return pd.DataFrame(load_iris().data, columns=IRIS_FEATURES).astype("float64")


def in_process(settings, name: str, version: str, frame: pd.DataFrame) -> list:
    with using_tracking_uri(settings.tracking_uri):
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    return [v.item() if hasattr(v, "item") else v for v in model.predict(frame)]


@pytest.fixture(scope="module")
def iris_expected(settings):
    frame = iris_rows()
    first, second = (in_process(settings, IRIS_MODEL, v, frame) for v in ("1", "2"))
    disagreeing = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    return frame, first, second, disagreeing


def test_champion_and_challenger_disagree_on_known_rows(services, caller, iris_expected):
    frame, first, second, disagreeing = iris_expected
    assert disagreeing, "the two demo versions must disagree somewhere for this test to mean much"
    records = frame.to_dict(orient="records")
    answer = services.compare.compare(caller, IRIS_MODEL, None, records, source=Source.API)
    body = answer.to_dict()
    assert body["versions"] == [
        {"ref": "Champion", "version": "1"},
        {"ref": "Challenger", "version": "2"},
    ]
    assert body["predictions"] == {"Champion": first, "Challenger": second}
    assert body["disagreements"] == disagreeing
    assert body["agreement"] == pytest.approx(1 - len(disagreeing) / len(frame))
    counts = body["crosstab"]["counts"]
    assert sum(map(sum, counts)) == len(frame)
    assert sum(counts[i][i] for i in range(3)) == len(frame) - len(disagreeing)
    assert body["crosstab"]["rows"][0] == "0 · setosa"
    assert body["differing_columns"] == {}


def test_a_comparison_of_more_rows_than_the_grid_shows_inputs_for_renders(
    services, caller, iris_expected
):
    """The view gets the inputs of the first rows only (callbacks/compare.py)."""
    frame, *_ = iris_expected
    answer = services.compare.compare(
        caller, IRIS_MODEL, None, frame.to_dict("records"), source=Source.API
    )
    view = comparison_view(answer, frame.head(2).to_dict("records"))
    rows = _grid_rows(view)
    assert len(rows) == answer.rows == len(frame)
    assert sum("sepal_length" in row for row in rows) == 2  # inputs where they were given
    assert sorted(row[RECORD] for row in rows) == list(range(1, len(frame) + 1))  # from 1
    first = next(row for row in rows if row[RECORD] == 1)
    assert first["sepal_length"] == frame.iloc[0]["sepal_length"]  # record 1 is the first sent


def _grid_rows(component) -> list[dict]:
    data = getattr(component, "rowData", None)
    if data is not None:
        return data
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str) and (found := _grid_rows(child)):
            return found
    return []


def test_each_version_is_audited(services, caller):
    before = len(services.audit.rows(action="compare"))
    rows = iris_rows().head(7).to_dict(orient="records")
    services.compare.compare(caller, IRIS_MODEL, ["1", "Challenger"], rows, source=Source.API)
    records = services.audit.rows(action="compare")[before:]
    assert [(r["version"], r["outcome"], r["input_rows"]) for r in records] == [
        ("1", "ok", 7),
        ("2", "ok", 7),
    ]


def test_differing_signatures_use_the_columns_each_needs(services, caller, settings):
    frame = iris_rows().iloc[::10]
    records = frame.to_dict(orient="records")
    compare = services.compare.compare
    answer = compare(caller, TWO_SIGNATURES_MODEL, ["1", "2"], records, source=Source.API)
    narrow = [c for c in IRIS_FEATURES if c != "sepal_width"]
    assert answer.differing_columns == {"1": ["sepal_width"]}
    assert answer.shared_columns == narrow
    assert answer.predictions["2"] == in_process(settings, TWO_SIGNATURES_MODEL, "2", frame[narrow])


def test_regressors_get_mean_absolute_difference(services, caller):
    rows = house_frame(5).to_dict(orient="records")
    body = services.compare.compare(
        caller, HOUSE_PRICE_MODEL, ["1", "Champion"], rows, source=Source.API
    ).to_dict()
    assert body["kind"] == "numbers"
    assert body["mean_absolute_difference"] == 0.0 and body["agreement"] == 1.0


def test_default_needs_champion_and_challenger(services, caller):
    with pytest.raises(InvalidInput, match="no Champion and Challenger"):
        services.compare.compare(
            caller,
            HOUSE_PRICE_MODEL,
            None,
            house_frame(1).to_dict(orient="records"),
            source=Source.API,
        )
    assert isinstance(services.compare, CompareService)


def test_api_shape(client, iris_expected):
    frame, _, second, disagreeing = iris_expected
    payload = {"dataframe_split": frame.to_dict(orient="split")}
    payload["dataframe_split"].pop("index")
    response = client.post(f"{COMPARE}?refs=Champion,Challenger", json=payload)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {"versions", "predictions", "agreement", "disagreements"} <= body.keys()
    assert body["predictions"]["Challenger"] == second
    assert body["disagreements"] == disagreeing


def test_api_refuses_a_single_ref(client):
    response = client.post(f"{COMPARE}?refs=Champion", json=[{}])
    assert response.status_code == 400
    assert "2 to 4 different versions" in response.get_json()["message"]


def test_a_file_gains_one_prediction_column_per_version(services, caller, iris_expected, tmp_path):
    import io

    from services.compare.files import AGREE_COLUMN, CompareFiles

    frame, first, second, disagreeing = iris_expected
    body = io.BytesIO(frame.assign(id=range(len(frame))).to_csv(index=False).encode())
    stored = services.files.upload(caller, "iris.csv", body)
    compared = CompareFiles(services.files, services.compare).compare_file(
        caller, IRIS_MODEL, None, stored.file_id
    )
    assert compared.tally.disagreements == disagreeing
    result = pd.read_csv(services.files.store.path(caller, compared.output.file_id))
    # named as the page names them ("v1 @Champion vs v2 @Challenger")
    assert [v.name for v in compared.versions] == ["v1 @Champion", "v2 @Challenger"]
    assert result["prediction_v1_Champion"].tolist() == first
    assert result["prediction_v2_Challenger"].tolist() == second
    assert (~result[AGREE_COLUMN]).sum() == len(disagreeing)
    assert compared.preview[0]["id"] == str(disagreeing[0])  # disagreeing rows first
    assert result["label_v1_Champion"][0] == "setosa"
    by_number = CompareFiles(services.files, services.compare).compare_file(
        caller, IRIS_MODEL, ["1", "Challenger"], stored.file_id
    )
    columns = pd.read_csv(services.files.store.path(caller, by_number.output.file_id)).columns
    assert [v.name for v in by_number.versions] == ["v1", "v2 @Challenger"]
    assert {"prediction_v1", "prediction_v2_Challenger"} <= set(columns)


def test_api_compares_an_uploaded_file(client, iris_expected):
    frame, _, _, disagreeing = iris_expected
    upload = client.post(
        "/api/uploads?filename=iris.csv", data=frame.to_csv(index=False), content_type="text/csv"
    ).get_json()
    body = client.post(f"{COMPARE}/{upload['file_id']}").get_json()
    assert body["disagreements"] == disagreeing and body["rows"] == len(frame)
    assert client.get(f"/api/files/{body['result_file']['file_id']}").status_code == 200
