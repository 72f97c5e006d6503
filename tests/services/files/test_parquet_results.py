"""Scored files as Parquet, through the HTTP API on the real seeded registry: the file a
program reads back has one type per column, the model's predictions and every row's error."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app import create_app, services_of
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.files.csv_io import iter_csv
from services.files.parquet import parquet_writer
from services.files.results import RESULT_FORMATS
from services.registry.demo import CHURN_MODEL, IRIS_FEATURES, IRIS_MODEL, churn_frame
from services.scoring.tables import BadRows
from tests.registry_models import NO_SIGNATURE_MODEL

CHUNK_ROWS = 100
CHURN_TYPES = {
    "age": pa.int64(),
    "income": pa.float64(),
    "tenure_months": pa.int64(),
    "usage_gb": pa.float64(),
    "city": pa.string(),
    "is_member": pa.bool_(),
}


@pytest.fixture(scope="module")
def small_chunks(settings):
    """The app with 100-row chunks, so a few hundred rows make several chunks."""
    return create_app(settings=replace(settings, predict_chunk_rows=CHUNK_ROWS)).server


@pytest.fixture
def client(small_chunks):
    return small_chunks.test_client()


def scored_file(
    client, model: str, frame: pd.DataFrame, fmt: str | None, name: str, ref: str = "Champion"
):
    """Upload ``frame`` as a CSV, score it, download the result: (score body, download)."""
    upload = client.post(
        f"/api/uploads?filename={name}",
        data=frame.to_csv(index=False).encode(),
        content_type="text/csv",
    )
    query = f"?format={fmt}" if fmt else ""
    file_id = upload.get_json()["file_id"]
    scored = client.post(f"/api/models/{model}/{ref}/score/{file_id}{query}")
    assert scored.status_code == 200, scored.get_json()
    body = scored.get_json()
    return body, client.get(f"/api/files/{body['result_file']['file_id']}")


def parquet_of(download) -> pa.Table:
    return pq.read_table(io.BytesIO(download.data))


def in_process(services, model: str, rows: pd.DataFrame, ref: str = "Champion") -> list:
    """The model's own predictions for these rows, in this process."""
    _, loaded = services.scoring.loader.load(LOCAL_CALLER, model, ref)
    return np.asarray(loaded.pyfunc.predict(rows)).ravel().tolist()


def iris_rows(count: int) -> pd.DataFrame:
    from sklearn.datasets import load_iris

    flowers = pd.DataFrame(load_iris().data, columns=IRIS_FEATURES)
    return flowers.sample(count, replace=True, random_state=3).reset_index(drop=True)


def with_ids(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    return pd.concat([pd.Series(ids, name="flower_id"), frame], axis=1)


def test_parquet_download_has_the_in_process_predictions_and_typed_columns(client, services):
    flowers = iris_rows(300)
    # IDs with leading zeros fill the first chunk; the CSV path reads them back as numbers
    ids = [f"{i:06d}" for i in range(CHUNK_ROWS)] + [f"F-{i}" for i in range(CHUNK_ROWS, 300)]
    body, download = scored_file(client, IRIS_MODEL, with_ids(flowers, ids), "parquet", "iris.csv")
    assert body["result_file"]["filename"] == "iris_with_predictions.parquet"
    assert download.status_code == 200
    assert download.mimetype == "application/vnd.apache.parquet"
    assert "iris_with_predictions.parquet" in download.headers["Content-Disposition"]
    table = parquet_of(download)
    assert table.schema == pa.schema(
        [("flower_id", pa.string())]
        + [(name, pa.float64()) for name in IRIS_FEATURES]
        + [("prediction", pa.int64()), ("prediction_label", pa.string()), ("error", pa.string())]
    )
    assert table["flower_id"].to_pylist() == ids  # "000007" stays "000007"
    assert table["prediction"].to_pylist() == in_process(services, IRIS_MODEL, flowers)
    assert table["sepal_length"].to_pylist() == flowers["sepal_length"].tolist()
    assert table["error"].null_count == 300  # every row was scored


def test_bad_cells_in_a_later_chunk_are_null_and_named(client, services):
    customers = churn_frame(300, seed=21)
    for column in ("income", "tenure_months", "is_member"):
        customers[column] = customers[column].astype(object)
    customers.loc[150, "income"] = "abc"
    customers.loc[250, "tenure_months"] = 2.5
    customers.loc[251, "is_member"] = "maybe"
    body, download = scored_file(client, CHURN_MODEL, customers, "parquet", "churn.csv")
    assert (body["input_rows"], body["failed_rows"]) == (300, 3)
    table = parquet_of(download)
    assert table.num_rows == 300 and pq.ParquetFile(io.BytesIO(download.data)).num_row_groups == 3
    assert {name: table.schema.field(name).type for name in CHURN_TYPES} == CHURN_TYPES
    assert table.schema.field("prediction").type == pa.int64()
    rows = table.to_pylist()
    assert rows[150]["income"] is None and rows[150]["age"] == customers.loc[150, "age"]
    assert rows[150]["error"] == 'income expects a number, got "abc"'
    assert rows[250]["tenure_months"] is None
    assert rows[250]["error"] == 'tenure_months expects a whole number, got "2.5"'
    assert (
        rows[251]["is_member"] is None
        and rows[251]["error"] == 'is_member expects true or false, got "maybe"'
    )
    bad = {150, 250, 251}
    assert [rows[i]["prediction"] is None for i in range(300)] == [i in bad for i in range(300)]
    good = customers.drop(index=sorted(bad)).astype(
        {"income": float, "tenure_months": "int64", "is_member": bool}
    )
    predicted = [rows[i]["prediction"] for i in range(300) if i not in bad]
    assert predicted == in_process(services, CHURN_MODEL, good)


def test_a_csv_result_keeps_every_input_cell_as_it_was_sent(client, services):
    """Text can hold what the model could not read: the CSV result keeps the person's cell
    (their file, their value), and the Parquet result of the same upload keeps it null."""
    customers = churn_frame(300, seed=21)
    for column in ("income", "tenure_months", "is_member", "usage_gb"):
        customers[column] = customers[column].astype(object)
    customers.loc[150, "income"] = "abc"
    customers.loc[240, "usage_gb"] = "lots"
    customers.loc[241, "usage_gb"] = -2.5  # beside a bad cell, still a number
    customers.loc[250, "tenure_months"] = 2.5
    customers.loc[251, "is_member"] = "maybe"
    body, download = scored_file(client, CHURN_MODEL, customers, "csv", "churn.csv")
    assert (body["input_rows"], body["failed_rows"]) == (300, 4)
    result = pd.read_csv(io.BytesIO(download.data), dtype=str)
    assert result.loc[150, "income"] == "abc"
    assert result.loc[250, "tenure_months"] == "2.5"
    assert result.loc[251, "is_member"] == "maybe"
    assert (result.loc[240, "usage_gb"], result.loc[241, "usage_gb"]) == ("lots", "-2.5")
    assert result.loc[150, "error"] == 'income expects a number, got "abc"'
    # and every other cell reads back as sent, spelled the same in every chunk
    bad = [150, 240, 250, 251]
    rest = result.drop(index=bad)
    good = customers.drop(index=bad).astype(
        {"income": float, "tenure_months": "int64", "is_member": bool, "usage_gb": float}
    )
    read = rest[good.columns].astype({c: good[c].dtype for c in good if c != "is_member"})
    read["is_member"] = rest["is_member"].map({"true": True, "false": False})
    pd.testing.assert_frame_equal(read, good, check_dtype=False)
    assert pd.isna(result.loc[150, "prediction"]) and not pd.isna(result.loc[149, "prediction"])
    _, typed = scored_file(client, CHURN_MODEL, customers, "parquet", "churn.csv")
    assert parquet_of(typed).to_pylist()[150]["income"] is None


def test_first_chunk_all_bad_then_good_chunks(client, services):
    customers = churn_frame(300, seed=5)
    customers["tenure_months"] = customers["tenure_months"].astype(object)
    customers.loc[: CHUNK_ROWS - 1, "tenure_months"] = "soon"
    body, download = scored_file(client, CHURN_MODEL, customers, "parquet", "churn.csv")
    assert body["failed_rows"] == CHUNK_ROWS
    table = parquet_of(download)
    assert table.schema.field("prediction").type == pa.int64()
    assert table.schema.field("tenure_months").type == pa.int64()
    predictions = table["prediction"].to_pylist()
    assert predictions[:CHUNK_ROWS] == [None] * CHUNK_ROWS
    assert predictions[CHUNK_ROWS:] == in_process(services, CHURN_MODEL, customers[CHUNK_ROWS:])
    assert set(table["error"].to_pylist()[:CHUNK_ROWS]) == {
        'tenure_months expects a whole number, got "soon"'
    }


def write_parquet(small_chunks, frame: pd.DataFrame, tmp_path, without_output_signature: bool):
    """Score ``frame`` with the churn model's real chunks into a Parquet file, optionally as
    if the model declared no output type (the writer must learn it from the predictions)."""
    services = services_of(small_chunks)
    _, model = services.scoring.loader.load(LOCAL_CALLER, CHURN_MODEL, "Champion")
    signature = replace(model.signature, outputs=[]) if without_output_signature else None
    source, target = tmp_path / "in.csv", tmp_path / "out.parquet"
    frame.to_csv(source, index=False)
    with open(target, "wb") as handle, parquet_writer(handle, signature or model.signature) as w:
        chunks = iter_csv(source, model.signature, CHUNK_ROWS, passthrough_as_text=True)
        with services.scoring.use(LOCAL_CALLER, CHURN_MODEL, "Champion", Source.CSV) as use:
            for scored in services.scoring.table(use, BadRows.MARK).frames(chunks):
                w(scored)
    return pq.read_table(target)


def test_without_output_signature_the_type_comes_from_the_first_scored_chunk(
    small_chunks, tmp_path
):
    customers = churn_frame(300, seed=8)
    customers["age"] = customers["age"].astype(object)
    customers.loc[: 2 * CHUNK_ROWS - 1, "age"] = "old"  # two chunks wait for a real type
    table = write_parquet(small_chunks, customers, tmp_path, without_output_signature=True)
    assert table.schema.field("prediction").type == pa.int64()
    predictions = table["prediction"].to_pylist()
    assert predictions[: 2 * CHUNK_ROWS] == [None] * 2 * CHUNK_ROWS
    assert None not in predictions[2 * CHUNK_ROWS :]
    assert table["age"].to_pylist()[: 2 * CHUNK_ROWS] == [None] * 2 * CHUNK_ROWS


def test_a_file_where_every_row_failed_is_still_a_parquet_file(small_chunks, tmp_path):
    customers = churn_frame(250, seed=9)
    customers["city"] = None  # a required text column, empty everywhere
    table = write_parquet(small_chunks, customers, tmp_path, without_output_signature=True)
    assert table.num_rows == 250
    assert table.schema.field("prediction").type == pa.string()
    assert table["prediction"].null_count == 250
    assert set(table["error"].to_pylist()) == {"city is empty"}


def test_unknown_format_is_a_clear_400(client):
    upload = client.post(
        "/api/uploads?filename=c.csv", data=b"age\n1\n", content_type="text/csv"
    ).get_json()
    response = client.post(
        f"/api/models/{CHURN_MODEL}/Champion/score/{upload['file_id']}?format=xlsx"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error_code"] == "INVALID_INPUT"
    assert "Choose one of: csv, parquet" in body["message"] and "xlsx" not in body["message"]


@pytest.mark.parametrize("fmt", list(RESULT_FORMATS))
def test_each_format_downloads_with_its_name_and_type(client, fmt):
    customers = churn_frame(20, seed=2)
    _, download = scored_file(client, CHURN_MODEL, customers, fmt, "Q3 customers.csv")
    chosen = RESULT_FORMATS[fmt]
    assert download.mimetype == chosen.mimetype
    expected = f"Q3_customers_with_predictions{chosen.extension}"
    assert f"filename={expected}" in download.headers["Content-Disposition"]


def test_csv_stays_the_default_and_neutralises_formulas_parquet_keeps_values(client):
    customers = churn_frame(20, seed=4)
    customers.insert(0, "customer_id", [f"{i:04d}" for i in range(20)])
    customers["note"] = "=1+1"
    _, as_csv = scored_file(client, CHURN_MODEL, customers, None, "c.csv")
    _, as_parquet = scored_file(client, CHURN_MODEL, customers, "parquet", "c.csv")
    assert as_csv.mimetype == "text/csv"
    csv_rows = pd.read_csv(io.BytesIO(as_csv.data))
    assert csv_rows.loc[0, "note"] == "'=1+1"  # safe to open in a spreadsheet
    parquet_rows = parquet_of(as_parquet)
    assert set(parquet_rows["note"].to_pylist()) == {"=1+1"}  # the value, for programs
    assert parquet_rows["customer_id"].to_pylist() == customers["customer_id"].tolist()
    assert parquet_rows["prediction"].to_pylist() == csv_rows["prediction"].tolist()


def test_model_without_signature_gets_the_types_of_its_values(client, services):
    flowers = iris_rows(250)
    _, download = scored_file(client, NO_SIGNATURE_MODEL, flowers, "parquet", "iris.csv", "1")
    table = parquet_of(download)
    assert [table.schema.field(n).type for n in IRIS_FEATURES] == [pa.float64()] * 4
    assert table.schema.field("prediction").type == pa.int64()
    assert table["prediction"].to_pylist() == in_process(services, NO_SIGNATURE_MODEL, flowers, "1")
