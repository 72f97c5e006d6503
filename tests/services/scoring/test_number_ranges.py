"""Numbers are never silently changed: a value too large for its column is refused, not
wrapped, and costs its row only."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, churn_frame


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("age", 1e29, "too large"), ("age", 2**63, "too large"), ("age", -(2**64), "too large")],
)
def test_numbers_too_large_for_the_column_are_refused_not_wrapped(services, column, value, words):
    from services.errors import SchemaMismatch

    customer = churn_frame(1, seed=1).to_dict("records")[0] | {column: value}
    with pytest.raises(SchemaMismatch, match=words):
        services.scoring.predict(LOCAL_CALLER, CHURN_MODEL, "1", customer, source=Source.API)


def test_infinite_and_too_large_csv_cells_cost_their_row_only(client):
    customers = churn_frame(6, seed=2).astype({"income": object, "age": object})
    customers.loc[1, "income"] = "inf"
    customers.loc[2, "age"] = "99999999999999999999"
    answer = client.post(
        f"/api/models/{CHURN_MODEL}/1/predict",
        data=customers.to_csv(index=False),
        content_type="text/csv",
    )
    assert answer.status_code == 200 and answer.headers["X-Failed-Rows"] == "2"
    result = pd.read_csv(io.BytesIO(answer.data), dtype=str, keep_default_na=False)
    assert result.loc[1, "error"] == 'income expects a finite number, got "inf"'
    assert result.loc[2, "error"].startswith("age expects a whole number that fits")
    assert (result["error"] == "").sum() == 4


def test_int32_columns_are_checked_against_their_range():
    from services.errors import SchemaMismatch
    from services.registry.signature import ColumnInfo, SignatureInfo
    from services.scoring.payload import ModelInput
    from services.scoring.validation import conform

    signature = SignatureInfo(columns=[ColumnInfo("n", "integer", True)], present=True)
    with pytest.raises(SchemaMismatch, match="too large"):
        conform(ModelInput(pd.DataFrame({"n": [3_000_000_000]})), signature)
    assert conform(ModelInput(pd.DataFrame({"n": [7]})), signature).data["n"].dtype == np.int32
