"""The fast path for clean records hands the model exactly the frame the usual path
(``parse_payload`` → ``conform``) makes, and steps aside for anything else, so every check and
every message stays the usual path's: for one record as for thousands."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.access.audit import Source
from services.errors import ConsoleError
from services.registry.demo import CHURN_MODEL, IRIS_MODEL
from services.registry.signature import ColumnInfo, SignatureInfo
from services.scoring.fast import fast_conformed, fast_shape
from services.scoring.payload import parse_payload
from services.scoring.validation import conform

SIGNATURE = SignatureInfo(
    columns=[
        ColumnInfo("x", "double", True),
        ColumnInfo("n", "long", True),
        ColumnInfo("flag", "boolean", True),
    ],
    present=True,
)
NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(2**53) + 1, 2**53 - 1),
)
RECORD = st.fixed_dictionaries(
    {"x": NUMBERS, "n": st.integers(-(2**63), 2**63 - 1), "flag": st.booleans()}
)
# every column one dtype: the frame is built from one 2-D block (iris is such a model)
DOUBLES = SignatureInfo(
    columns=[ColumnInfo(c, "double", True) for c in ("a", "b", "c", "d")], present=True
)
DOUBLE_RECORD = st.fixed_dictionaries({c.name: NUMBERS for c in DOUBLES.columns})
LONGS = SignatureInfo(columns=[ColumnInfo(c, "long", True) for c in ("i", "j")], present=True)
LONG_RECORD = st.fixed_dictionaries(
    {c.name: st.integers(-(2**63), 2**63 - 1) for c in LONGS.columns}
)
KINDS = [(RECORD, SIGNATURE), (DOUBLE_RECORD, DOUBLES), (LONG_RECORD, LONGS)]
# Values of the wrong kind for each column type: the fast path must step aside for each one,
# wherever it is among thousands of clean rows (a bool is an int to Python and a 1.0 to numpy).
SPOILERS = {
    "double": [
        True,
        False,
        "1.5",
        None,
        math.nan,
        math.inf,
        -math.inf,
        2**53,
        -(2**53),
        2**63,
        2**70,
        2**1100,
        [1.0],
        {"v": 1.0},
    ],
    "long": [True, 1.5, 1.0, "1", None, math.nan, 2**63, -(2**63) - 1, 2**64, [1]],
    "boolean": [1, 0, 1.0, "true", None, [True]],
}


def _forms(records: list[dict], columns: list[str]) -> list:
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    forms = [records, {"dataframe_records": records}, {"dataframe_split": split}]
    return forms + ([records[0]] if len(records) == 1 else [])


def _big(records: list[dict], times: int) -> list[dict]:
    """Many rows from a few drawn ones (drawing thousands would be slow): copies, so that a
    spoiled row stays the only one."""
    return [dict(r) for r in records * times]


def _same_as_usual(payload, signature: SignatureInfo) -> None:
    fast = fast_conformed(fast_shape(payload), signature)
    usual = conform(parse_payload(payload), signature)
    assert fast is not None and fast.exact
    pd.testing.assert_frame_equal(fast.data, usual.data, check_column_type=False)
    assert fast.ignored_columns == usual.ignored_columns == []


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=64))
def test_clean_records_become_the_frame_the_usual_path_makes(records):
    for payload in _forms(records, ["x", "n", "flag"]):
        _same_as_usual(payload, SIGNATURE)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.data(),
    st.integers(2, 400),
)
def test_thousands_of_clean_records_become_the_frame_the_usual_path_makes(kind, data, times):
    strategy, signature = kind
    records = _big(data.draw(st.lists(strategy, min_size=1, max_size=30)), times)
    for payload in _forms(records, [c.name for c in signature.columns]):
        _same_as_usual(payload, signature)


def _spoiled_forms(records: list[dict], columns: list[str], row: int, how: str, value) -> list:
    """The payloads in every form with one row spoiled by ``how``."""
    records = [dict(r) for r in records]
    split = {"columns": list(columns), "data": [[r[c] for c in columns] for r in records]}
    if how == "value":
        column, wrong = value
        records[row][column] = wrong
        split["data"][row][columns.index(column)] = wrong
    elif how == "missing":
        del records[row][value]
        split["data"][row].pop(columns.index(value))  # a ragged row
    elif how == "renamed":  # as many keys as columns, one of them another name
        records[row]["other"] = records[row].pop(value)
        split["columns"][columns.index(value)] = "other"
    elif how == "extra":
        records[row]["extra"] = 1.0
        split["data"][row].append(1.0)  # a ragged row
    elif how == "not a record":
        records[row] = [records[row][c] for c in columns]
        split["data"][row] = dict(zip(columns, split["data"][row], strict=True))
    elif how == "empty":
        records[row] = {}
        split["data"][row] = []
    return [records, {"dataframe_records": records}, {"dataframe_split": split}]


@st.composite
def spoiled(draw):
    strategy, signature = draw(st.sampled_from(KINDS))
    records = _big(draw(st.lists(strategy, min_size=1, max_size=20)), draw(st.integers(4, 300)))
    columns = [c.name for c in signature.columns]
    row = draw(st.integers(0, len(records) - 1))
    how = draw(st.sampled_from(["value", "missing", "renamed", "extra", "not a record", "empty"]))
    if how == "value":
        column = draw(st.sampled_from(signature.columns))
        value = (column.name, draw(st.sampled_from(SPOILERS[column.type])))
    else:
        value = draw(st.sampled_from(columns))
    return signature, _spoiled_forms(records, columns, row, how, value)


@settings(max_examples=200, deadline=None)
@given(spoiled())
def test_one_doubtful_value_among_thousands_takes_the_usual_path(case):
    """Wherever it is, one value of another kind, one missing or extra key, one ragged row
    sends the whole input the usual way, which keeps its own verdict and message."""
    signature, payloads = case
    for payload in payloads:
        shape = fast_shape(payload)
        assert shape is None or fast_conformed(shape, signature) is None
        with contextlib.suppress(ConsoleError):  # the usual path decides: an answer or our error
            conform(parse_payload(payload), signature)


def test_columns_in_another_order_take_the_usual_path():
    records = [{"n": 1, "x": 1.5, "flag": True}] * 500  # a record's key order does not matter
    _same_as_usual(records, SIGNATURE)
    split = {"dataframe_split": {"columns": ["n", "x", "flag"], "data": [[1, 1.5, True]] * 500}}
    assert fast_conformed(fast_shape(split), SIGNATURE) is None


@pytest.mark.parametrize(
    "payload",
    [
        {"x": True, "n": 1, "flag": True},  # a boolean is no number to MLflow
        {"x": 1.0, "n": 1.0, "flag": True},  # a double for a long: the usual path decides
        {"x": 1.0, "n": 2**63, "flag": True},  # past a long
        {"x": 2**60, "n": 1, "flag": True},  # an int a double cannot hold exactly
        {"x": 1.0, "n": 1, "flag": 1},
        {"x": None, "n": 1, "flag": True},
        {"x": "1.0", "n": 1, "flag": True},
        {"x": 1.0, "n": 1},  # missing
        {"x": 1.0, "n": 1, "flag": True, "extra": 1},  # ignored columns are reported
        {"dataframe_split": {"columns": ["n", "x", "flag"], "data": [[1, 1.0, True]]}},
        {"dataframe_records": [{"x": 1.0, "n": 1, "flag": True}], "params": {"k": 1}},
        [{"x": 1.0, "n": 1, "flag": True}] * 5000 + [{"x": True, "n": 1, "flag": True}],
        [{"x": 1.0, "n": 1, "flag": True}] * 5000 + [{"x": 1.0, "n": 2**63, "flag": True}],
        {
            "dataframe_split": {
                "columns": ["x", "n", "flag"],
                "data": [[1.0, 1, True]] * 5000,
                "index": list(range(5000)),
            }
        },
    ],
)
def test_anything_else_takes_the_usual_path(payload):
    shape = fast_shape(payload)
    assert shape is None or fast_conformed(shape, SIGNATURE) is None


def test_shapes_the_usual_path_refuses_are_never_taken():
    ragged = [[1]] * 5000 + [[1, 2]]
    for payload in (
        [],
        {},
        [{}],
        [{"x": 1}, 5],
        {"dataframe_split": {"data": []}},
        "x",
        3,
        [{"x": 1}] * 5000 + [{}],
        {"dataframe_split": {"columns": ["x"], "data": []}},
        {"dataframe_split": {"columns": ["x"], "data": ragged}},
    ):
        assert fast_shape(payload) is None


def test_the_api_answers_the_same_through_either_path(services, caller):
    """iris (all doubles) takes the fast path; the same rows as strings take the usual one."""
    clean = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    assert fast_shape(clean) is not None
    fast = services.scoring.predict(caller, IRIS_MODEL, "Champion", clean, source=Source.API)
    frame = pd.DataFrame([clean])
    usual = services.scoring.predict(
        caller,
        IRIS_MODEL,
        "Champion",
        parse_payload(
            {
                "dataframe_split": {
                    "columns": list(frame.columns),
                    "data": frame.values.tolist(),
                    "index": [0],
                }
            }
        ),
        source=Source.API,
    )
    assert fast.predictions == usual.predictions == [2]
    assert fast.labels == usual.labels == ["virginica"]


def test_a_signature_with_text_is_never_taken(services, caller):
    _, churn = services.scoring.loader.load(caller, CHURN_MODEL, "Champion")
    record = {c.name: 1.0 for c in churn.signature.columns}
    assert fast_conformed(fast_shape(record), churn.signature) is None


@pytest.mark.parametrize("predict_fn", ["predict", "predict_proba"])
def test_the_direct_call_is_the_one_mlflow_would_make(tmp_path, predict_fn):
    """A model logged to answer with ``predict_proba`` keeps MLflow's path: the fast path
    must not turn its probabilities into classes."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    from services.compat import sklearn_predict as direct_predict

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])
    mlflow.sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn=predict_fn)
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    direct = direct_predict(loaded)
    if predict_fn == "predict":
        assert direct is not None
        assert direct(frame.head(1)).tolist() == loaded.predict(frame.head(1)).tolist()
    else:
        assert direct is None


@pytest.mark.parametrize("form", ["records", "dataframe_records", "dataframe_split"])
def test_ten_thousand_rows_answer_what_the_model_answers_in_process(client, services, caller, form):
    """Through the API, 10,000 clean rows take the fast path (and the direct scikit-learn
    predict): the answers are MLflow's own ``pyfunc.predict`` of the same frame, and so are
    those of the usual path for the same rows."""
    from sklearn.datasets import load_iris

    _, iris = services.scoring.loader.load(caller, IRIS_MODEL, "Champion")
    names = [c.name for c in iris.signature.columns]
    picks = np.random.default_rng(7).integers(0, 150, size=10_000)
    frame = pd.DataFrame(load_iris().data[picks], columns=names)
    expected = iris.pyfunc.predict(frame).tolist()
    records = frame.to_dict("records")
    split = {"columns": names, "data": frame.to_numpy().tolist()}
    body = {
        "records": records,
        "dataframe_records": {"dataframe_records": records},
        "dataframe_split": {"dataframe_split": split},
    }[form]
    assert fast_conformed(fast_shape(body), iris.signature) is not None
    answer = client.post(f"/api/models/{IRIS_MODEL}/Champion/predict", json=body).get_json()
    assert answer["predictions"] == expected
    assert answer["input_rows"] == 10_000
    names_of = {0: "setosa", 1: "versicolor", 2: "virginica"}
    assert answer["labels"] == [names_of[p] for p in expected]
    usual = services.scoring.predict(
        caller, IRIS_MODEL, "Champion", parse_payload(body), source=Source.API
    )
    assert usual.predictions == expected
