"""The console in headless Chromium: one small user flow per test, waiting on text."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app import create_app
from layouts.answer import FORM_ANSWER, JSON_ANSWER
from layouts.ids import Config, Csv, History, Json, Page
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.browser_helpers import (
    CSV_RESULT,
    click,
    download_result,
    load_model,
    open_tab,
    result_json,
    screenshot,
    start_console,
    type_json,
    wait_for_predictions,
)
from tests.conftest import SETOSA, VIRGINICA, basic_header, free_port, mlflow_basic_settings
from tests.registry_models import STAGED_MODEL
from tests.waiting import until

# the runs an older version kept in this browser's local storage (none: they are the server's)
BROWSER_RUNS = (
    "return Object.keys(localStorage).filter(k => k.startsWith('model-console-history:'))"
)

pytestmark = pytest.mark.browser


@pytest.fixture
def iris_console(dash_duo, settings):
    """The console with iris version 1 preselected, as MODEL_NAME / MODEL_VERSION would do."""
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    return dash_duo


@pytest.mark.screenshots
def test_preselected_model_loads_with_metadata_and_signature(iris_console):
    dash_duo = iris_console
    details = f"#{Config.DETAILS}"
    for text in ("sepal_length", "petal_width", "double", "RandomForestClassifier", "Champion"):
        dash_duo.wait_for_contains_text(details, text)
    dash_duo.wait_for_contains_text(f"{details} .model-description h2", "Iris species classifier")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", IRIS_MODEL)
    screenshot(dash_duo, "tab-model-configuration", docs=True)
    assert dash_duo.get_logs() == []


def test_pick_another_model_by_typing_and_alias(iris_console):
    dash_duo = iris_console
    load_model(dash_duo, CHURN_MODEL, "Champion")
    dash_duo.wait_for_contains_text(
        f"#{Config.STATUS}", f"Loaded {CHURN_MODEL} version 1 (alias Champion)"
    )
    dash_duo.wait_for_contains_text(f"#{Config.DETAILS}", "is_member")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "@Champion")
    assert dash_duo.get_logs() == []


def test_unknown_model_and_alias_get_clear_alerts(iris_console):
    dash_duo = iris_console
    load_model(dash_duo, "main.ml_models.iris_clasifier", "1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "Model not found")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Did you mean {IRIS_MODEL}")
    load_model(dash_duo, IRIS_MODEL, "Champoin")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "Versions: 1, 2")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", IRIS_MODEL)  # still the last good one
    assert dash_duo.get_logs() == []


def test_json_single_record_predicts_setosa(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps(SETOSA))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 1 record, 4 features")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    body = result_json(dash_duo)
    assert body["predictions"] == [0]
    assert (body["model"], body["version"], body["input_rows"]) == (IRIS_MODEL, "1", 1)
    assert body["latency_ms"] > 0
    assert dash_duo.get_logs() == []


@pytest.mark.screenshots
def test_json_batch_shows_predictions_and_a_table(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps([SETOSA, VIRGINICA, SETOSA]))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 3 records, 4 features")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    assert result_json(dash_duo)["predictions"] == [0, 2, 0]
    dash_duo.wait_for_element(f"#{JSON_ANSWER.result} .ag-row[row-index='2']")
    rows = dash_duo.find_elements(f"#{JSON_ANSWER.result} .ag-center-cols-container .ag-row")
    assert len(rows) == 3
    assert "Copy JSON" in dash_duo.find_element(f"#{JSON_ANSWER.result}").text
    middles = dash_duo.driver.execute_script(
        "return ['.theme-switch input', '.theme-switch label', '.copy-link'].map((s) => {"
        "  const r = document.querySelector(s).getBoundingClientRect();"
        "  return (r.top + r.bottom) / 2; });"
    )
    assert max(middles) - min(middles) <= 1, middles  # Dark mode on the header's line
    screenshot(dash_duo, "tab-json-prediction", docs=True)
    click(dash_duo, f"#{JSON_ANSWER.result} a[href*='/api/files/']")  # Download CSV
    saved = download_result(dash_duo, "json_batch_with_predictions.csv", press=False)
    assert pd.read_csv(saved)["prediction"].tolist() == [0, 2, 0]
    assert dash_duo.get_logs() == []


def test_bad_json_and_missing_feature_then_the_app_still_works(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, '{"sepal_length": 5.1,, }')
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "Invalid JSON at line 1, column 22")
    dash_duo.wait_for_element(f"#{Json.EDITOR} .ace_gutter-cell.ace_error")  # marked there
    dash_duo.wait_for_element(f"#{Json.PREDICT}[disabled]")  # nothing to send
    missing = {k: v for k, v in SETOSA.items() if k != "petal_width"}
    type_json(dash_duo, json.dumps(missing))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "Missing required column: petal_width")
    dash_duo.wait_for_element(f"#{Json.PREDICT}[disabled]")
    assert not dash_duo.find_elements(f"#{Json.EDITOR} .ace_gutter-cell.ace_error")
    type_json(dash_duo, json.dumps(VIRGINICA))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    assert result_json(dash_duo)["predictions"] == [2]
    assert dash_duo.get_logs() == []


def test_demo_input_is_valid_and_predicts(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    dash_duo.find_element(f"#{Json.DEMO}").click()
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 3 records, 4 features")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    assert len(result_json(dash_duo)["predictions"]) == 3
    assert dash_duo.get_logs() == []


def test_form_built_from_signature_predicts(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    field = dash_duo.find_element(f"#{Json.FORM_FIELDS} input")
    assert field.get_attribute("value") == "5.1"  # prefilled from the input example
    dash_duo.find_element(f"#{Json.FORM_PREDICT}").click()
    assert result_json(dash_duo, f"#{FORM_ANSWER.result}")["predictions"] == [0]
    assert dash_duo.get_logs() == []


@pytest.mark.screenshots
def test_csv_with_customer_id_predicts_and_downloads(dash_duo, settings, tmp_path):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    customers = churn_frame(40, seed=21)
    customers.insert(0, "customer_id", [f"C-{1000 + i}" for i in range(40)])
    source = tmp_path / "churn_customers.csv"
    customers.to_csv(source, index=False)

    open_tab(dash_duo, "CSV Prediction")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(source))
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "40 rows, 7 columns")
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Kept as pass-through columns: customer_id")
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Ready to predict")
    screenshot(dash_duo, "csv-check")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "40 rows scored")
    dash_duo.wait_for_contains_text(CSV_RESULT, "churn_customers_with_predictions.csv")
    dash_duo.wait_for_element(f"#{Csv.DOWNLOAD_BUTTON}.btn-success")
    screenshot(dash_duo, "tab-csv-prediction", docs=True)
    result = pd.read_csv(download_result(dash_duo, "churn_customers_with_predictions.csv"))
    assert list(result.columns) == [*customers.columns, "prediction", "prediction_label", "error"]
    assert result["customer_id"].tolist() == customers["customer_id"].tolist()
    assert set(result["prediction"]) <= {0, 1}
    assert set(result["prediction_label"]) <= {"stays", "leaves"}
    assert result["error"].isna().all()
    assert dash_duo.get_logs() == []


def test_bad_csv_gets_a_clear_message(iris_console, tmp_path):
    dash_duo = iris_console
    open_tab(dash_duo, "CSV Prediction")
    empty = tmp_path / "empty.csv"
    empty.write_text("sepal_length,sepal_width\n")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(empty))
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "has a header but no rows")
    assert dash_duo.find_element(f"#{Csv.PREDICT}").get_attribute("disabled") is not None
    assert dash_duo.get_logs() == []


@pytest.mark.screenshots
def test_history_lists_predictions_in_every_tab_and_on_another_device(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "JSON Prediction")
    for record, expected in ((SETOSA, [0]), (VIRGINICA, [2])):
        type_json(dash_duo, json.dumps(record))
        dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
        dash_duo.find_element(f"#{Json.PREDICT}").click()
        wait_for_predictions(dash_duo, expected)
    dash_duo.find_element(f"#{Json.FORM_PREDICT}").click()
    result_json(dash_duo, f"#{FORM_ANSWER.result}")
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.LIST}", "form done")
    dash_duo.wait_for_element(f"#{History.LIST} tbody tr:nth-child(3)")
    rows = dash_duo.find_elements(f"#{History.LIST} tbody tr")
    assert [row.find_elements("css selector", "td")[1].text for row in rows] == [
        "form done",
        "JSON done",
        "JSON done",
    ]  # newest first
    assert "2 · virginica" in rows[1].text and "0 · setosa" in rows[2].text
    screenshot(dash_duo, "tab-prediction-history", docs=True)
    assert dash_duo.driver.execute_script(BROWSER_RUNS) == []  # the server keeps them

    # Another device: a browser that has kept nothing shows the same runs; Clear empties
    # the list there and in the first tab.
    first = dash_duo.driver.current_window_handle
    dash_duo.driver.switch_to.new_window("tab")
    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.get(dash_duo.server_url + "?tab=history")
    dash_duo.driver.execute_script("localStorage.clear(); sessionStorage.clear()")
    dash_duo.driver.refresh()
    dash_duo.wait_for_element(f"#{History.LIST} tbody tr:nth-child(3)")
    assert "2 · virginica" in dash_duo.find_element(f"#{History.LIST}").text
    dash_duo.find_element(f"#{History.CLEAR}").click()
    dash_duo.wait_for_contains_text(f"#{History.LIST}", "No JSON or form predictions")
    dash_duo.driver.switch_to.window(first)
    dash_duo.wait_for_contains_text(f"#{History.LIST}", "No JSON or form predictions")
    assert dash_duo.get_logs() == []


def test_runs_an_older_version_kept_in_the_browser_move_to_the_server(iris_console):
    """What the console kept in local storage before its runs were the server's is handed
    over on the first visit, shown, and then kept only on the server."""
    dash_duo = iris_console
    kept = [
        {"id": f"{n:012x}", "time": f"2026-11-0{n}T10:00:00", "source": "JSON", "outcome": "ok"}
        | {"model": IRIS_MODEL, "version": "1", "rows": 1, "preview": f"{n} · old run"}
        for n in (1, 2)
    ]
    for entry in kept:
        dash_duo.driver.execute_script(
            "localStorage.setItem(arguments[0], arguments[1])",
            f"model-console-history:{entry['id']}",
            json.dumps(entry),
        )
    dash_duo.driver.execute_script("localStorage.setItem('model-console-history:x', '{')")
    dash_duo.driver.get(dash_duo.server_url + "?tab=history")
    dash_duo.wait_for_element(f"#{History.LIST} tbody tr:nth-child(2)")
    rows = dash_duo.find_elements(f"#{History.LIST} tbody tr")
    assert ["2 · old run" in rows[0].text, "1 · old run" in rows[1].text] == [True, True]
    until(lambda: dash_duo.driver.execute_script(BROWSER_RUNS) == [], timeout=10)
    dash_duo.driver.refresh()  # handed over once: the server's now, not the browser's
    dash_duo.wait_for_element(f"#{History.LIST} tbody tr:nth-child(2)")
    assert len(dash_duo.find_elements(f"#{History.LIST} tbody tr")) == 2
    assert dash_duo.get_logs() == []


@pytest.mark.screenshots
def test_help_renders(iris_console):
    dash_duo = iris_console
    open_tab(dash_duo, "Help")
    dash_duo.wait_for_contains_text(".help", "Troubleshooting")
    dash_duo.wait_for_contains_text(".help table", "Dimension mismatch")
    dash_duo.wait_for_contains_text(".help", "Use aliases, not version numbers")
    screenshot(dash_duo, "tab-help", docs=True)
    assert dash_duo.get_logs() == []


def test_hostile_description_is_rendered_harmless(iris_console):
    dash_duo = iris_console
    load_model(dash_duo, STAGED_MODEL, "Production")
    dash_duo.wait_for_contains_text(f"#{Config.DETAILS} .model-description", "Staged tree")
    description = dash_duo.find_element(f"#{Config.DETAILS} .model-description")
    hrefs = [a.get_attribute("href") or "" for a in description.find_elements("css selector", "a")]
    assert hrefs and not [h for h in hrefs if h.lower().startswith(("javascript:", "data:"))]
    assert "https://mlflow.org/docs" in hrefs
    assert description.find_elements("css selector", "script, img, [onerror]") == []
    assert dash_duo.driver.execute_script("return window.injected === undefined")
    assert "<script>" in description.text  # shown as text, not run
    assert dash_duo.get_logs() == []


def test_dark_mode_and_narrow_width(iris_console):
    dash_duo = iris_console
    dash_duo.find_element(f"#{Page.THEME_SWITCH}").click()
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "dark-model-configuration")
    open_tab(dash_duo, "JSON Prediction")
    dash_duo.find_element(f"#{Json.DEMO}").click()
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    screenshot(dash_duo, "narrow-json-prediction", width=420)
    assert dash_duo.get_logs() == []


@pytest.mark.slow
def test_signed_in_user_sees_their_name_and_a_denial_alert(dash_duo, auth_server, tmp_path):
    """mlflow-basic mode in the browser: alice signs in, loads X, is refused Y's files."""
    app = create_app(settings=mlflow_basic_settings(auth_server, tmp_path))
    dash_duo.start_server(app, navigate=False, port=free_port())
    # What a browser sends once the person has answered its password prompt.
    credentials = basic_header("alice", auth_server.passwords["alice"])
    dash_duo.driver.execute_cdp_cmd("Network.enable", {})
    dash_duo.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": credentials})
    dash_duo.server_url = dash_duo.server.url
    dash_duo.wait_for_contains_text(f"#{Page.USER}", "alice")
    load_model(dash_duo, auth_server.models["X"], "Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "Loaded test.auth.model_x version 1")
    load_model(dash_duo, auth_server.models["Y"], "Champion")
    dash_duo.wait_for_contains_text(
        f"#{Config.STATUS}", "Permission denied: alice cannot use test.auth.model_y version 1"
    )
    screenshot(dash_duo, "permission-denied")


def test_a_file_that_cannot_be_uploaded_is_explained(dash_duo, settings, tmp_path):
    """Too big (refused before sending), empty (refused by the server), then too big again:
    each failure says why, and stays said."""
    start_console(
        dash_duo, settings, default_model=IRIS_MODEL, default_version="1", upload_limit_bytes=2048
    )
    big = tmp_path / "big.csv"
    big.write_text(
        "sepal_length,sepal_width,petal_length,petal_width\n" + "5.1,3.5,1.4,0.2\n" * 400
    )
    open_tab(dash_duo, "CSV Prediction")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(big))
    dash_duo.wait_for_contains_text(f"#{Csv.UPLOAD_ERROR}", "This file is 6.3 KB; files up to 2 KB")
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Upload a CSV file")  # nothing was sent
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(empty))
    dash_duo.wait_for_contains_text(f"#{Csv.UPLOAD_ERROR}", "The file was not uploaded")
    dash_duo.wait_for_contains_text(f"#{Csv.UPLOAD_ERROR}", "The CSV file is empty")
    until(lambda: dash_duo.redux_state_rqs == [], timeout=10)  # a late callback has come
    assert "The CSV file is empty" in dash_duo.find_element(f"#{Csv.UPLOAD_ERROR}").text
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(big))
    dash_duo.wait_for_contains_text(f"#{Csv.UPLOAD_ERROR}", "This file is 6.3 KB; files up to 2 KB")
    refused = "api/uploads?filename=empty.csv - Failed to load resource"  # the browser's own 400
    assert [log for log in dash_duo.get_logs() if refused not in log["message"]] == []
