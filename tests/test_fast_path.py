"""The fast path for a few clean records hands the model exactly the frame the usual path
(``parse_payload`` → ``conform``) makes, and steps aside for anything else, so every check and
every message stays the usual path's."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.access.audit import Source
from services.registry.demo import CHURN_MODEL, IRIS_MODEL
from services.registry.signature import ColumnInfo, SignatureInfo
from services.scoring.fast import FAST_MAX_ROWS, fast_conformed, fast_shape
from services.scoring.payload import parse_payload
from services.scoring.validation import conform

SIGNATURE = SignatureInfo(
    columns=[ColumnInfo("x", "double", True), ColumnInfo("n", "long", True),
             ColumnInfo("flag", "boolean", True)],
    present=True,
)  # fmt: skip
NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(2**53) + 1, 2**53 - 1),
)
RECORD = st.fixed_dictionaries(
    {"x": NUMBERS, "n": st.integers(-(2**63), 2**63 - 1), "flag": st.booleans()}
)


def _forms(records: list[dict]) -> list:
    columns = ["x", "n", "flag"]
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    forms = [records, {"dataframe_records": records}, {"dataframe_split": split}]
    return forms + ([records[0]] if len(records) == 1 else [])


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=FAST_MAX_ROWS))
def test_clean_records_become_the_frame_the_usual_path_makes(records):
    for payload in _forms(records):
        fast = fast_conformed(fast_shape(payload), SIGNATURE)
        usual = conform(parse_payload(payload), SIGNATURE)
        assert fast is not None and fast.exact
        pd.testing.assert_frame_equal(fast.data, usual.data, check_column_type=False)
        assert fast.ignored_columns == usual.ignored_columns == []


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
        [{"x": 1.0, "n": 1, "flag": True}] * (FAST_MAX_ROWS + 1),
    ],
)
def test_anything_else_takes_the_usual_path(payload):
    shape = fast_shape(payload)
    assert shape is None or fast_conformed(shape, SIGNATURE) is None


def test_shapes_the_usual_path_refuses_are_never_taken():
    for payload in ([], {}, [{}], [{"x": 1}, 5], {"dataframe_split": {"data": []}}, "x", 3):
        assert fast_shape(payload) is None


def test_the_api_answers_the_same_through_either_path(services, caller):
    """iris (all doubles) takes the fast path; the same rows as strings take the usual one."""
    clean = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    assert fast_shape(clean) is not None
    fast = services.scoring.predict(caller, IRIS_MODEL, "Champion", clean, source=Source.API)
    frame = pd.DataFrame([clean])
    usual = services.scoring.predict(caller, IRIS_MODEL, "Champion", parse_payload(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist(),
                             "index": [0]}}), source=Source.API)  # fmt: skip
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

    from services.scoring.models import direct_predict

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
