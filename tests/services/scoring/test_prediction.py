"""Predicting through the services with really trained models, and the errors users meet."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from cachelib import SimpleCache

from services.access.audit import Source
from services.errors import DimensionMismatch, InvalidInput, SchemaMismatch
from services.registry.demo import CHURN_MODEL, HOUSE_PRICE_MODEL, IRIS_MODEL, churn_frame
from services.wiring import build_services
from tests.conftest import SETOSA, VIRGINICA, api_predict
from tests.registry_models import NO_SIGNATURE_MODEL, TENSOR_MODEL

CUSTOMER = {
    "age": 34,
    "income": 48_000.0,
    "tenure_months": 2,
    "usage_gb": 3.5,
    "city": "Paris",
    "is_member": False,
}


def test_brief_example_one_record_predicts_setosa(services, caller):
    result = api_predict(services, caller, IRIS_MODEL, "1", SETOSA)
    assert result.predictions == [0]
    assert (result.input_rows, result.model, result.version) == (1, IRIS_MODEL, "1")
    assert result.latency_ms > 0


@pytest.mark.parametrize(
    "payload",
    [
        [SETOSA, VIRGINICA, SETOSA],
        {"dataframe_records": [SETOSA, VIRGINICA, SETOSA]},
        {
            "dataframe_split": {
                "columns": list(SETOSA),
                "data": [list(SETOSA.values()), list(VIRGINICA.values()), list(SETOSA.values())],
            }
        },
        {"instances": [SETOSA, VIRGINICA, SETOSA]},
        {"inputs": {k: [SETOSA[k], VIRGINICA[k], SETOSA[k]] for k in SETOSA}},
        {"dataframe_records": [SETOSA, VIRGINICA, SETOSA], "params": {}},
    ],
    ids=["records", "dataframe_records", "dataframe_split", "instances", "inputs", "params"],
)
def test_every_accepted_json_form_gives_the_same_predictions(services, caller, payload):
    assert api_predict(services, caller, IRIS_MODEL, "Champion", payload).predictions == [0, 2, 0]


def test_integers_feed_double_columns(services, caller):
    record = {"sepal_length": 5, "sepal_width": 3, "petal_length": 1, "petal_width": 0}
    assert api_predict(services, caller, IRIS_MODEL, "1", record).predictions == [0]


def test_whole_doubles_feed_long_columns(services, caller):
    customer = {**CUSTOMER, "age": 34.0}
    assert api_predict(services, caller, CHURN_MODEL, "1", customer).predictions in ([0], [1])


def test_missing_columns_are_named(services, caller):
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, IRIS_MODEL, "1", {"sepal_length": 5.1, "sepal_width": 3.5})
    assert "Missing required columns: petal_length, petal_width" in error.value.message
    assert "sepal_length (double)" in error.value.hint


def test_a_misspelt_column_is_named_with_what_it_looks_like(services, caller):
    record = {"sepal_length": 5.1, "sepal_width": 3.5, "Petal Length": 1.4, "petal_widht": 0.2}
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, IRIS_MODEL, "1", record)
    assert "Missing required columns: petal_length, petal_width" in error.value.message
    assert error.value.hint.startswith(
        '"Petal Length" looks like petal_length; "petal_widht" looks like petal_width: '
        "rename them. The model expects: "
    )


def test_no_rename_is_offered_for_an_unrelated_column(services, caller):
    record = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "flower_id": 3}
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, IRIS_MODEL, "1", record)
    assert "looks like" not in error.value.hint  # nor petal_length, which the model reads


def test_unexpected_json_columns_are_ignored_and_reported(services, caller):
    result = api_predict(services, caller, IRIS_MODEL, "1", {**SETOSA, "flower_id": "a-17"})
    assert result.predictions == [0]
    assert result.ignored_columns == ["flower_id"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"sepal_length": "long"}, 'sepal_length expects a number (double), but row 1 has "long"'),
        ({"sepal_length": True}, "sepal_length expects a number (double), but row 1 has true"),
        ({"sepal_length": None}, "Column sepal_length is required, but row 1 is empty"),
    ],
)
def test_type_mismatches_name_column_row_and_value(services, caller, change, words):
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, IRIS_MODEL, "1", {**SETOSA, **change})
    assert words in error.value.message


def test_a_whole_number_beyond_any_double_is_refused_with_its_row(services, caller):
    """Not from JSON (orjson stops at 64 bits) but from any Python caller of the service."""
    rows = [SETOSA, {**SETOSA, "petal_width": 2**1100}]
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, IRIS_MODEL, "1", rows)
    assert (
        "Column petal_width takes numbers (double), but row 2 has a whole number beyond"
        in error.value.message
    )


def test_type_mismatch_in_a_batch_points_at_the_row(services, caller):
    rows = [CUSTOMER, CUSTOMER, {**CUSTOMER, "age": 41.5}, {**CUSTOMER, "age": 2.5}]
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, CHURN_MODEL, "1", rows)
    assert "Column age expects a whole number (long), but row 3 has 41.5" in error.value.message
    assert "1 more row too" in error.value.message


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("city", 5, "expects text (string), but row 1 has 5"),
        ("is_member", "yes", 'expects true or false (boolean), but row 1 has "yes"'),
    ],
)
def test_strings_and_booleans_are_checked(services, caller, column, value, words):
    with pytest.raises(SchemaMismatch) as error:
        api_predict(services, caller, CHURN_MODEL, "1", {**CUSTOMER, column: value})
    assert words in error.value.message


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ([], "no rows"),
        ({}, "empty"),
        ({"dataframe_records": []}, "no rows"),
        ("text", "Expected a JSON object or list"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "Row 1 of dataframe_split"),
        ({"instances": [], "inputs": []}, "exactly one of"),
    ],
)
def test_unusable_payloads_say_what_is_wrong(services, caller, payload, words):
    with pytest.raises(InvalidInput, match=words):
        api_predict(services, caller, IRIS_MODEL, "1", payload)


def test_tensor_model_predicts_rows_of_numbers(services, caller):
    rows = [list(SETOSA.values()), list(VIRGINICA.values())]
    assert api_predict(services, caller, TENSOR_MODEL, "1", {"inputs": rows}).predictions == [0, 2]


def test_tensor_model_reports_dimension_mismatch(services, caller):
    with pytest.raises(DimensionMismatch) as error:
        api_predict(services, caller, TENSOR_MODEL, "1", {"inputs": [[5.1, 3.5, 1.4]]})
    assert "Dimension mismatch: the model expects 4 values per row, got 3" in error.value.message
    assert error.value.error_code == "DIMENSION_MISMATCH"


def test_ragged_rows_are_reported(services, caller):
    with pytest.raises(InvalidInput, match="row 2 has 3"):
        api_predict(services, caller, TENSOR_MODEL, "1", {"inputs": [[1, 2, 3, 4], [1, 2, 3]]})


def test_model_without_signature_is_scored_as_given(services, caller):
    assert api_predict(
        services, caller, NO_SIGNATURE_MODEL, "1", [SETOSA, VIRGINICA]
    ).predictions == [
        0,
        2,
    ]


def test_regressor_returns_continuous_values(services, caller):
    house = {"living_area_sqm": 120.0, "bedrooms": 3, "age_years": 20, "distance_to_center_km": 5.0}
    (price,) = api_predict(services, caller, HOUSE_PRICE_MODEL, "Champion", house).predictions
    assert isinstance(price, float) and 200_000 < price < 700_000


def test_churn_probabilities_on_request(services, caller):
    result = api_predict(
        services, caller, CHURN_MODEL, "Champion", [CUSTOMER] * 2, probabilities=True
    )
    assert len(result.probabilities) == 2
    assert set(result.probabilities[0]) == {"0", "1"}
    assert sum(result.probabilities[0].values()) == pytest.approx(1.0)
    assert result.predictions[0] == int(result.probabilities[0]["1"] > 0.5)


def test_large_input_is_chunked_and_matches_one_shot_predict(settings, caller):
    chunked = build_services(replace(settings, predict_chunk_rows=1_000), SimpleCache())
    customers = churn_frame(4_321, seed=99)
    result = api_predict(chunked, caller, CHURN_MODEL, "1", customers.to_dict("records"))
    _, model = chunked.scoring.loader.load(caller, CHURN_MODEL, "1")
    expected = model.pyfunc.predict(customers)
    assert result.input_rows == 4_321
    assert result.predictions == [int(v) for v in np.asarray(expected)]


def _scored_csv(settings, caller, model: str, frame: pd.DataFrame, chunk_rows: int):
    """A CSV file scored through the CSV service in chunks: the result file's text, and
    the first predictions as the summary (and the API) report them."""
    services = build_services(replace(settings, predict_chunk_rows=chunk_rows), SimpleCache())
    files = services.files
    stored = files.upload(caller, "rows.csv", io.BytesIO(frame.to_csv(index=False).encode()))
    scored = files.score_upload(caller, model, "1", stored.file_id, source=Source.CSV)
    return files.store.path(caller, scored.output.file_id).read_text(), scored.predictions


def test_tensor_model_scores_a_csv_file_in_chunks(settings, caller, services):
    rows = np.random.default_rng(4).uniform(0.5, 7.0, size=(25, 4))
    frame = pd.DataFrame(rows, columns=list("abcd"))
    text, _ = _scored_csv(settings, caller, TENSOR_MODEL, frame, 7)
    result = pd.read_csv(io.StringIO(text))
    _, model = services.scoring.loader.load(caller, TENSOR_MODEL, "1")
    assert result["prediction"].tolist() == np.asarray(model.pyfunc.predict(rows)).tolist()


def test_classes_stay_whole_numbers_next_to_rows_that_failed(settings, caller):
    customers = churn_frame(30, seed=12).astype({"age": object})
    customers.loc[[4, 17], "age"] = "unknown"  # one bad row in each of two chunks
    text, first = _scored_csv(settings, caller, CHURN_MODEL, customers, 10)
    predictions = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["prediction"]
    assert set(predictions[[4, 17]]) == {""}
    assert set(predictions.drop([4, 17])) <= {"0", "1"}  # never "1.0"
    assert first[4] is None and {type(p) for p in first[:4]} == {int}  # 1, not 1.0


def test_output_columns_are_known_before_any_row_is_scored(services, caller):
    """A file whose first chunk fails entirely still gets the model's own output columns,
    so every chunk's rows line up with the header."""
    from services.registry.signature import ColumnInfo, SignatureInfo, TensorInfo
    from services.scoring.prediction import output_columns

    _, churn = services.scoring.loader.load(caller, CHURN_MODEL, "1")
    assert output_columns(churn.signature) == ["prediction"]
    two = SignatureInfo(
        outputs=[ColumnInfo("label", "long", True), ColumnInfo("score", "double", True)]
    )
    assert output_columns(two) == ["prediction_label", "prediction_score"]
    assert output_columns(SignatureInfo(outputs=[TensorInfo(None, "float64", (-1, 3))])) == [
        "prediction_0",
        "prediction_1",
        "prediction_2",
    ]
    assert output_columns(SignatureInfo()) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": "abc", "data": [[1, 2, 3]]}},
        {"dataframe_split": {"columns": [1, 2], "data": [[1, 2]]}},
        {"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}},
    ],
    ids=["columns-text", "columns-numbers", "columns-twice"],
)
def test_malformed_scoring_formats_are_input_errors_and_audited(services, caller, payload):
    """They were a TypeError deep in pandas (an unaudited 500)."""
    before = len(services.audit.rows(source="api"))
    with pytest.raises(InvalidInput, match="dataframe_split"):
        api_predict(services, caller, IRIS_MODEL, "1", payload)
    assert len(services.audit.rows(source="api")) == before + 1


def test_a_rename_is_offered_only_where_it_cannot_feed_one_column_as_another():
    from services.scoring.validation import MAX_RENAME_PAIRS, likely_renames

    # the exact match wins, whatever the order of the missing columns
    assert likely_renames(["income_2023", "income_2024"], ["income_2024 "]) == {
        "income_2024 ": "income_2024"
    }
    assert likely_renames(["age_1", "age_12"], ["age_12x"]) == {"age_12x": "age_12"}
    assert likely_renames(["a_1", "a_2"], ["a_3"]) == {}  # as near to both: neither
    wide = [f"column_{i}" for i in range(MAX_RENAME_PAIRS + 1)]
    assert likely_renames(["column_1x"], wide) == {}  # not searched: the error stays quick
