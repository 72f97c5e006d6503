"""The console as a person uses it, in headless Chromium: one active model that answers,
a form that refuses what it cannot read, no stale results, readable answers, a history to
go back to. Each test is a user's steps; each ends with no console errors."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from layouts.answer import FORM_ANSWER, JSON_ANSWER
from layouts.csv_tab import NO_RESULT
from layouts.ids import Config, Csv, History, Json, Page, form_feedback, form_field
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.browser_helpers import (
    CSV_RESULT,
    choose,
    click,
    download_result,
    load_model,
    open_tab,
    result_json,
    screenshot,
    start_console,
    type_json,
    upload_csv,
)
from tests.conftest import SETOSA, VIRGINICA
from tests.waiting import until

pytestmark = pytest.mark.browser


def css(component_id: object) -> str:
    """A CSS selector for a component, pattern-matching IDs included (Dash writes those as
    JSON in the element's id)."""
    if isinstance(component_id, dict):
        text = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
        return f"[id='{text}']"
    return f"#{component_id}"


def retype(field, text: str) -> None:
    """Select what the field holds and type ``text`` over it, as a person does."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)
    field.send_keys(Keys.TAB)


@pytest.fixture
def iris_latest(dash_duo, settings):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="latest")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 2 (latest)")
    return dash_duo


def test_the_answer_comes_from_the_model_shown(iris_latest):
    dash_duo = iris_latest
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "latest")
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps(VIRGINICA))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    click(dash_duo, f"#{Json.PREDICT}")
    assert result_json(dash_duo)["version"] == "2"

    open_tab(dash_duo, "Model Configuration")
    choose(dash_duo, Config.VERSION, "Champion")  # picked, not loaded yet
    dash_duo.wait_for_contains_text(f"#{Config.PENDING}", "Champion is not loaded")
    dash_duo.wait_for_contains_text(f"#{Config.PENDING}", "predictions still use")
    dash_duo.wait_for_contains_text(f"#{Config.PENDING}", "v2")
    click(dash_duo, f"#{Config.LOAD}")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "version 1 (alias Champion)")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "@Champion")
    until(lambda: dash_duo.find_element(f"#{Config.PENDING}").text == "", timeout=10)

    open_tab(dash_duo, "JSON Prediction")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.stale}", "This answer came from")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.stale}", "the loaded model is now")
    dash_duo.wait_for_contains_text(f"#{Json.ACTIVE}", "@Champion")
    click(dash_duo, f"#{Json.PREDICT}")
    until(lambda: result_json(dash_duo)["version"] == "1", timeout=10)
    assert dash_duo.find_element(f"#{JSON_ANSWER.stale}").text == ""
    assert dash_duo.get_logs() == []


def test_a_failed_load_changes_nothing_and_its_suggestion_loads(iris_latest):
    dash_duo = iris_latest
    load_model(dash_duo, "main.ml_models.iris_clasifier", "1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "No registered model named")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "Nothing changed: predictions still use")
    assert "registry.db" not in dash_duo.find_element(f"#{Config.STATUS}").text
    dash_duo.wait_for_contains_text(f"#{Config.DETAILS}", "sepal_length")  # v2's card stays
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    screenshot(dash_duo, "config-failed-load")
    click(dash_duo, f"#{Config.STATUS} .suggestion")  # "Did you mean …": the right name
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    assert dash_duo.get_logs() == []


def test_the_form_refuses_what_it_cannot_read(iris_latest):
    dash_duo = iris_latest
    open_tab(dash_duo, "JSON Prediction")
    fields = {name: dash_duo.find_element(css(form_field(name))) for name in SETOSA}
    dash_duo.wait_for_element(f"{css(form_field('sepal_length'))}[required]")  # marked
    for name, typed in (("sepal_length", ""), ("sepal_width", "3,5"), ("petal_length", "abc")):
        retype(fields[name], typed)
    dash_duo.wait_for_contains_text(css(form_feedback("sepal_length")), "Required")
    dash_duo.wait_for_contains_text(
        css(form_feedback("sepal_width")), "Use a dot for decimals: 3.5"
    )
    dash_duo.wait_for_contains_text(css(form_feedback("petal_length")), "Not a number")
    dash_duo.wait_for_contains_text(f"#{Json.FORM_STATUS}", "3 fields need attention")
    dash_duo.wait_for_element(f"#{Json.FORM_PREDICT}[disabled]")  # nothing is sent
    screenshot(dash_duo, "form-refuses-bad-input")
    for name in ("sepal_length", "sepal_width", "petal_length"):
        retype(fields[name], str(SETOSA[name]))
    until(lambda: dash_duo.find_element(f"#{Json.FORM_PREDICT}").is_enabled(), timeout=10)
    click(dash_duo, f"#{Json.FORM_PREDICT}")
    dash_duo.wait_for_contains_text(f"#{FORM_ANSWER.result}", "0 · setosa")
    assert dash_duo.get_logs() == []


def test_a_big_batch_gets_a_summary_a_paged_table_copy_and_download(iris_latest):
    dash_duo = iris_latest
    open_tab(dash_duo, "JSON Prediction")
    records = [SETOSA, VIRGINICA] * 500
    dash_duo.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});",
        str(Json.TEXT),
        json.dumps(records),
    )  # what pasting a thousand records does
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 1,000 records")
    click(dash_duo, f"#{Json.PREDICT}")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result}", "1,000 rows")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result}", "0 · setosa × 500")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result}", "2 · virginica × 500")
    dash_duo.wait_for_element(f"#{JSON_ANSWER.result} .ag-paging-panel")  # pages, not a wall
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result}", "Copy JSON")
    screenshot(dash_duo, "json-big-batch")
    click(dash_duo, f"#{JSON_ANSWER.result} a[href*='/api/files/']")
    saved = download_result(dash_duo, "json_batch_with_predictions.csv", press=False)
    table = pd.read_csv(saved)
    assert len(table) == 1000 and table["label"].tolist()[:2] == ["setosa", "virginica"]
    assert dash_duo.get_logs() == []


def test_a_csv_result_comes_in_both_formats_and_names_its_file(dash_duo, settings, tmp_path):
    start_console(
        dash_duo,
        settings,
        default_model=CHURN_MODEL,
        default_version="Champion",
        app_data_dir=tmp_path / "data",  # its own jobs only
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    open_tab(dash_duo, "CSV Prediction")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    churn_frame(30, seed=1).to_csv(first, index=False)
    churn_frame(12, seed=2).to_csv(second, index=False)
    upload_csv(dash_duo, first, 30)
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "first.csv: 30 rows scored by")
    dash_duo.wait_for_element(f"#{Csv.DOWNLOAD_BUTTON}.btn-success")
    parquet = f"#{Csv.DOWNLOAD_BUTTON}-parquet"  # written in the same pass: no scoring again
    assert "first_with_predictions.parquet" in dash_duo.find_element(parquet).text
    click(dash_duo, parquet)
    parquet_file = download_result(dash_duo, "first_with_predictions.parquet", press=False)
    assert pd.read_parquet(parquet_file)["prediction_label"].isin(["stays", "leaves"]).all()

    upload_csv(dash_duo, second, 12)  # a new file: the other file's predictions go
    dash_duo.wait_for_text_to_equal(CSV_RESULT, NO_RESULT)
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "second.csv: 12 rows scored by")
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "first.csv · csv")
    rows = dash_duo.find_elements(f"#{History.JOBS} tbody tr")
    assert len(rows) == 2  # one run each
    rows[-1].find_element(By.XPATH, ".//button[text()='Run again']").click()  # first.csv's
    dash_duo.wait_for_contains_text(CSV_RESULT, "first.csv: 30 rows scored by")  # its own
    assert dash_duo.get_logs() == []


def test_bad_cells_read_back_as_a_spreadsheet_shows_them(dash_duo, settings, tmp_path):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    customers = churn_frame(8, seed=3).astype({"age": object, "tenure_months": object})
    customers.insert(0, "id", pd.Series(range(8), dtype=object))
    customers.loc[3, "age"] = "abc"  # id 3: the 4th data row, spreadsheet row 5
    customers.loc[4, "tenure_months"] = "n/a"
    customers.loc[5, "id"] = "NA"  # an ID, not a missing value
    source = tmp_path / "cells.csv"
    customers.to_csv(source, index=False)
    open_tab(dash_duo, "CSV Prediction")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(source))
    dash_duo.wait_for_contains_text(
        f"#{Csv.PREVIEW}", 'age expects a whole number: row 5 has "abc"'
    )
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", 'tenure_months is missing in row 6: "n/a"')
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "comma-separated")
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW_GRID}", "abc")  # the cell as it was
    assert "Invalid Number" not in dash_duo.find_element(f"#{Csv.PREVIEW_GRID}").text
    screenshot(dash_duo, "csv-bad-cells")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "2 rows could not be scored")
    text = download_result(dash_duo, "cells_with_predictions.csv").read_text()
    result = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert result.loc[3, "error"] == 'age expects a whole number, got "abc"'
    assert result.loc[4, "error"] == 'tenure_months is missing ("n/a")'
    assert result.loc[5, "id"] == "NA"
    # the cell the model could not read stays as the person sent it; the others are numbers
    assert result.loc[3, "age"] == "abc"
    assert all(age.isdigit() for i, age in enumerate(result["age"]) if i != 3)
    assert dash_duo.get_logs() == []


def test_history_opens_downloads_and_runs_again(iris_latest, tmp_path):
    dash_duo = iris_latest
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps(VIRGINICA))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    click(dash_duo, f"#{Json.PREDICT}")
    result_json(dash_duo)
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.LIST}", "2 · virginica")
    click(dash_duo, f"#{History.LIST} button:nth-of-type(1)")  # Open
    dash_duo.wait_for_contains_text(f"#{History.DETAIL}", '"petal_width": 2.3')  # its input
    click(dash_duo, f"#{History.LIST} tbody tr:first-child button:nth-of-type(2)")  # again
    dash_duo.wait_for_contains_text(f"#{History.DETAIL}", "Ran again with version 2")
    until(lambda: len(dash_duo.find_elements(f"#{History.LIST} tbody tr")) == 2, timeout=10)
    screenshot(dash_duo, "tab-prediction-history")
    assert dash_duo.get_logs() == []


def test_every_tab_light_dark_and_narrow(iris_latest):
    """Screenshots of every tab in light, dark and at 420 px; dark mode is finished (a dark
    header, dark code blocks, a labelled switch); a narrow window wraps instead of
    scrolling sideways."""
    dash_duo = iris_latest
    tabs = [
        "Model Configuration",
        "JSON Prediction",
        "CSV Prediction",
        "Prediction History",
        "Compare & Monitor",
        "Help",
    ]
    for label in tabs:
        open_tab(dash_duo, label)
        screenshot(dash_duo, f"light-{label.lower().replace(' ', '-')}")
    assert (
        "Dark mode"
        in dash_duo.find_element(f"#{Page.THEME_SWITCH}").find_element("xpath", "..").text
    )
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    for label in tabs:
        open_tab(dash_duo, label)
        screenshot(dash_duo, f"dark-{label.lower().replace(' ', '-')}")
    header = dash_duo.find_element(".console-header").value_of_css_property("background-color")
    assert header not in ("rgba(11, 94, 215, 1)", "rgba(13, 110, 253, 1)")  # not bright blue
    code = dash_duo.find_element(".help pre").value_of_css_property("background-color")
    assert code != "rgba(255, 255, 255, 1)"
    for label in tabs:
        open_tab(dash_duo, label)
        screenshot(dash_duo, f"narrow-{label.lower().replace(' ', '-')}", width=420)

        def sideways() -> int:
            return dash_duo.driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )

        # plotly redraws a chart for the new width a moment after the window narrows
        with contextlib.suppress(AssertionError):
            until(lambda: sideways() <= 0, timeout=5)
        wide = sideways()
        assert wide <= 0, f"{label} scrolls sideways at 420 px by {wide} px"
    assert dash_duo.get_logs() == []
