"""Values at the edges of their types, through the API: whole numbers at both ends of every
integer type, bytes as base64 in every JSON form and in CSV, bytes answered as base64."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from app import create_app
from tests.code_models import fresh_registry, register_code_model
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

MODEL = "test.values.edges"
PREDICT = f"/api/models/{MODEL}/1/predict"
CODE = """
import mlflow
import pandas as pd
class Edges(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return pd.DataFrame({
            "long_seen": model_input["n_long"],
            "int_seen": model_input["n_int"],
            "size": model_input["blob"].map(len),
            "reversed": model_input["blob"].map(lambda b: bytes(reversed(b))),
        })
mlflow.models.set_model(Edges())
"""
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
HELLO = base64.b64encode(b"hello").decode()  # aGVsbG8=


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    data_dir: Path = tmp_path_factory.mktemp("values")
    signature = ModelSignature(
        inputs=Schema(
            [ColSpec("long", "n_long"), ColSpec("integer", "n_int"), ColSpec("binary", "blob")]
        )
    )
    with fresh_registry(data_dir) as registry:
        register_code_model(registry, MODEL, CODE, signature=signature)
    return create_app(settings=settings_for(data_dir)).server.test_client()


def post_json(client, payload):
    """Sent as text: Python writes any whole number exactly, as a client would."""
    return client.post(PREDICT, data=json.dumps(payload), content_type="application/json")


def row(n_long=1, n_int=1, blob=HELLO) -> dict:
    return {"n_long": n_long, "n_int": n_int, "blob": blob}


def every_form(record: dict) -> list[dict]:
    columns = list(record)
    return [
        record,
        {"dataframe_split": {"columns": columns, "data": [list(record.values())]}},
        {"dataframe_records": [record]},
        {"instances": [record]},
        {"inputs": {name: [value] for name, value in record.items()}},
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("n_long", LONG_MIN - 1),
        ("n_long", LONG_MAX + 1),
        ("n_long", LONG_MIN - 1000),
        ("n_int", INT_MIN - 1),
        ("n_int", INT_MAX + 1),
    ],
)
def test_one_past_either_end_is_refused_in_every_form(client, column, value):
    for payload in every_form(row(**{column: value})):
        answer = post_json(client, payload)
        assert answer.status_code == 400, (payload, answer.get_json())
        message = answer.get_json()["message"]
        assert f"Column {column} takes whole numbers from" in message
        assert f"{value}" in message


@pytest.mark.parametrize(("n_long", "n_int"), [(LONG_MIN + 1, INT_MIN), (LONG_MAX - 1, INT_MAX)])
def test_the_ends_themselves_are_accepted(client, n_long, n_int):
    for payload in every_form(row(n_long=n_long, n_int=n_int)):
        answer = post_json(client, payload)
        assert answer.status_code == 200, answer.get_json()
        prediction = answer.get_json()["predictions"][0]
        assert (prediction["long_seen"], prediction["int_seen"]) == (n_long, n_int)


def test_base64_is_decoded_in_every_json_form_and_bytes_go_back_as_base64(client):
    for payload in every_form(row()):
        answer = post_json(client, payload).get_json()
        prediction = answer["predictions"][0]
        assert prediction["size"] == 5, payload  # "hello", not the 8 characters of aGVsbG8=
        assert base64.b64decode(prediction["reversed"]) == b"olleh"


def test_base64_with_mlflows_line_breaks_reads_too(client):
    wrapped = base64.encodebytes(b"x" * 100).decode()  # MLflow's encoder breaks lines
    assert "\n" in wrapped
    answer = post_json(client, row(blob=wrapped)).get_json()
    assert answer["predictions"][0]["size"] == 100


def test_text_that_is_not_base64_is_refused_with_its_row(client):
    answer = post_json(client, [row(), row(blob="hello!")])
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["message"] == (
        'Column blob takes bytes written as base64 text (binary), but row 2 has "hello!", '
        "which is not base64."
    )
    assert "base64.b64encode" in body["hint"]


def test_csv_decodes_base64_and_marks_the_rows_it_cannot_read(client):
    frame = pd.DataFrame(
        [row(), row(blob="not base64!"), row(n_long=LONG_MIN - 1), row(n_int=INT_MAX + 1)]
    )
    answer = client.post(PREDICT, data=frame.to_csv(index=False), content_type="text/csv")
    assert answer.status_code == 200
    result = pd.read_csv(io.StringIO(answer.get_data(as_text=True)), keep_default_na=False)
    assert result["prediction_size"][0] == "5"
    assert base64.b64decode(result["prediction_reversed"][0]) == b"olleh"
    errors = result["error"].tolist()
    assert errors[0] == ""
    assert errors[1] == 'blob expects base64 text (bytes), got "not base64!"'
    assert errors[2] == (
        f'n_long expects a whole number that fits a long column, got "{LONG_MIN - 1}"'
    )
    assert errors[3] == (
        f'n_int expects a whole number that fits a integer column, got "{INT_MAX + 1}"'
    )
