"""Compare, traffic and drift in the browser, light and dark."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests

from layouts.features.compare import FILE_PANEL
from layouts.ids import Compare, Config, Csv, Json, Monitor, Page
from services.access.audit import Source
from services.monitor.split import SPLIT_TAG
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL
from tests.browser_helpers import (
    CSV_RESULT,
    click,
    open_tab,
    screenshot,
    start_console,
    type_json,
    upload_csv,
)
from tests.waiting import until

pytestmark = pytest.mark.browser


def iris_rows() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return pd.DataFrame(load_iris().data, columns=IRIS_FEATURES)


@pytest.fixture(scope="module")
def disagreeing(services) -> list[int]:
    from services.access.caller import LOCAL_CALLER

    records = iris_rows().to_dict(orient="records")
    answer = services.compare.compare(LOCAL_CALLER, IRIS_MODEL, None, records, source=Source.API)
    return answer.tally.disagreements


def _load_iris(dash_duo, settings) -> None:
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")


def click_at_bottom(dash_duo, selector: str) -> None:
    """A control of a tab's last cards, clicked as a person would (into view, retried)."""
    click(dash_duo, selector)


def _marked_rows(dash_duo, within: str) -> int:
    return len(dash_duo.find_elements(f"#{within} .ag-center-cols-container .compare-disagree"))


@pytest.mark.screenshots
def test_compare_in_the_json_tab(dash_duo, settings, disagreeing):
    rows = iris_rows()
    chosen = [*disagreeing[:2], 0, 1, 2]
    _load_iris(dash_duo, settings)
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, '{"sepal_length": ')  # what Predict refuses, Compare refuses too
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "Invalid JSON", timeout=30)
    until(lambda: not dash_duo.find_element(f"#{Compare.JSON_RUN}").is_enabled(), timeout=10)
    type_json(dash_duo, json.dumps(rows.iloc[chosen].to_dict(orient="records")))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 5 records", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Compare.JSON_WITH}", "@Challenger (version 2)")
    until(lambda: dash_duo.find_element(f"#{Compare.JSON_RUN}").is_enabled(), timeout=10)
    click(dash_duo, f"#{Compare.JSON_RUN}")
    dash_duo.wait_for_contains_text(f"#{Compare.JSON_RESULT}", "60.0% agree", timeout=30)
    result = dash_duo.find_element(f"#{Compare.JSON_RESULT}").text
    assert "v1 @Champion vs v2 @Challenger on 5 rows" in result and "2 rows disagree" in result
    dash_duo.wait_for_element(f"#{Compare.JSON_RESULT} .chart-crosstab .main-svg")
    dash_duo.wait_for_element(f"#{Compare.JSON_RESULT} .compare-disagree")
    assert _marked_rows(dash_duo, Compare.JSON_RESULT) == 2
    first_row = dash_duo.find_element(f"#{Compare.JSON_RESULT} .ag-row[row-index='0']")
    assert "compare-disagree" in first_row.get_attribute("class")  # disagreements first
    screenshot(dash_duo, "compare-json-light", docs=True, docs_from=f"#{Compare.JSON_WITH}")
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "compare-json-dark")
    click(dash_duo, f"#{Compare.FORM_RUN}")
    dash_duo.wait_for_contains_text(f"#{Compare.JSON_RESULT}", "on 1 row", timeout=30)
    assert dash_duo.get_logs() == []


def test_compare_in_the_csv_tab(dash_duo, settings, disagreeing, tmp_path):
    source = tmp_path / "flowers.csv"
    iris_rows().assign(flower=range(150)).to_csv(source, index=False)
    _load_iris(dash_duo, settings)
    open_tab(dash_duo, "CSV Prediction")
    upload_csv(dash_duo, source, 150)
    dash_duo.wait_for_contains_text(f"#{Compare.CSV_WITH}", "@Challenger (version 2)")
    click_at_bottom(dash_duo, f"#{Compare.CSV_RUN}")
    agree = f"{(150 - len(disagreeing)) / 150:.1%} agree"
    dash_duo.wait_for_contains_text(f"#{FILE_PANEL.result}", agree, timeout=60)
    text = dash_duo.find_element(f"#{FILE_PANEL.result}").text
    assert "Download flowers_compared.csv" in text
    dash_duo.wait_for_element(f"#{FILE_PANEL.result} .compare-disagree")
    assert _marked_rows(dash_duo, FILE_PANEL.result) == len(disagreeing)
    screenshot(dash_duo, "compare-csv-light")
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "compare-csv-dark")
    assert dash_duo.get_logs() == []


@pytest.fixture
def iris_split(mlflow_client):
    mlflow_client.set_registered_model_tag(IRIS_MODEL, SPLIT_TAG, "Champion:70,Challenger:30")
    yield
    mlflow_client.delete_registered_model_tag(IRIS_MODEL, SPLIT_TAG)


@pytest.mark.screenshots
def test_drift_of_a_file_and_the_monitor_tab(dash_duo, settings, tmp_path, iris_split):
    source = tmp_path / "shifted.csv"
    iris_rows().assign(petal_length=lambda f: f["petal_length"] + 10).to_csv(source, index=False)
    _load_iris(dash_duo, settings)
    for key in range(12):
        answer = requests.post(
            f"{dash_duo.server_url}/api/models/{IRIS_MODEL}/split/predict",
            json=iris_rows().head(2).to_dict(orient="records"),
            headers={"X-Request-Key": f"k{key}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    open_tab(dash_duo, "CSV Prediction")
    upload_csv(dash_duo, source, 150)
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "Drift in petal_length", timeout=60)
    dash_duo.wait_for_element(f"{CSV_RESULT} .chart-drift .main-svg")
    screenshot(dash_duo, "drift-csv-light", docs=True, docs_from=CSV_RESULT)
    # at once to the top: a smooth scroll up a long page was still under way at the click
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    open_tab(dash_duo, "Compare & Monitor")
    dash_duo.wait_for_contains_text(f"#{Monitor.TRAFFIC}", "Champion 70% · Challenger 30%")
    dash_duo.wait_for_element(f"#{Monitor.TRAFFIC} .traffic-table")
    dash_duo.wait_for_contains_text(f"#{Monitor.DRIFT}", "shifted.csv", timeout=30)
    dash_duo.wait_for_element(f"#{Monitor.DRIFT} .chart-drift-over-time .main-svg")
    assert "petal_length" in dash_duo.find_element(f"#{Monitor.DRIFT} .drift-jobs").text
    screenshot(dash_duo, "monitor-light", docs=True)
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "monitor-dark")
    assert dash_duo.get_logs() == []
