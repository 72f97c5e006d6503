"""A result grid's row explained when picked (JSON batch, CSV result), and the CSV tab's
class probabilities in the downloaded file, in the browser, light and dark."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from layouts.ids import Config, Csv, Insight, Json, Page
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.browser_helpers import (
    CSV_RESULT,
    click,
    download_result,
    open_tab,
    screenshot,
    start_console,
    type_json,
    upload_csv,
)
from tests.conftest import SETOSA, VIRGINICA

pytestmark = pytest.mark.browser


def _pick(dash_duo, grid: str, row: int) -> None:
    """Click a row's first cell; scrolled there at once (a smooth scroll still moving would
    take the click elsewhere)."""
    cell = dash_duo.find_element(f"#{grid} .ag-row[row-index='{row}'] .ag-cell")
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", cell
    )
    cell.click()


def test_a_picked_json_row_is_explained(dash_duo, settings):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps([SETOSA, VIRGINICA, SETOSA]))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 3 records")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    dash_duo.wait_for_contains_text(f"#{Insight.JSON_ROW}", "Pick a row")
    _pick(dash_duo, Insight.JSON_GRID, 1)
    dash_duo.wait_for_contains_text(f"#{Insight.JSON_ROW}", "Picked row: 2 · virginica", timeout=30)
    waterfall = f"#{Insight.JSON_ROW} .chart-waterfall"
    dash_duo.wait_for_element(f"{waterfall} .main-svg")
    assert "petal_length = 5.2" in dash_duo.find_element(waterfall).text
    assert "tree explainer" in dash_duo.find_element(f"#{Insight.JSON_ROW}").text
    screenshot(dash_duo, "rows-json-picked")
    assert dash_duo.get_logs() == []


@pytest.mark.screenshots
def test_csv_probabilities_are_downloaded_and_a_result_row_is_explained(
    dash_duo, settings, tmp_path
):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    customers = churn_frame(60, seed=17)
    source = tmp_path / "customers.csv"
    customers.to_csv(source, index=False)
    open_tab(dash_duo, "CSV Prediction")
    upload_csv(dash_duo, source, 60)
    click(dash_duo, f"#{Insight.CSV_PROBABILITIES}")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "60 rows scored", timeout=60)
    dash_duo.wait_for_element(f"{CSV_RESULT} .chart-confidence .main-svg")
    assert "How sure the model is" in dash_duo.find_element(CSV_RESULT).text
    _pick(dash_duo, Insight.CSV_GRID, 0)
    dash_duo.wait_for_contains_text(f"#{Insight.CSV_ROW}", "Picked row:", timeout=30)
    dash_duo.wait_for_element(f"#{Insight.CSV_ROW} .chart-waterfall .main-svg")
    assert f"age = {customers['age'][0]}" in dash_duo.find_element(f"#{Insight.CSV_ROW}").text
    screenshot(dash_duo, "rows-csv-light")
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "rows-csv-dark", docs=True, docs_from=CSV_RESULT)
    dash_duo.wait_for_element(f"#{Csv.DOWNLOAD_BUTTON}.btn-success")
    result = pd.read_csv(download_result(dash_duo, "customers_with_predictions.csv"))
    assert list(result.columns[-3:]) == ["probability_0", "probability_1", "error"]
    np.testing.assert_allclose(result[["probability_0", "probability_1"]].sum(axis=1), 1, atol=1e-9)
    assert (
        result[["probability_0", "probability_1"]].to_numpy().argmax(axis=1) == result["prediction"]
    ).all()
    assert dash_duo.get_logs() == []
