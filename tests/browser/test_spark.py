"""The console's "Score a table" panel against a real Spark Connect server: an uploaded CSV
and a 100,000-row Parquet path scored on Spark from the browser, with progress, a summary,
a download and the job in Prediction History; Cancel publishes nothing. Not exercised: Databricks
Connect (the panel is the same; the session is built with the user's token)."""

from __future__ import annotations

import pandas as pd
import pytest
from selenium.webdriver.support.ui import Select

from layouts.features.table_panel import PANEL
from layouts.ids import History, Table
from tests.browser_helpers import download_result, start_spark_console, upload_csv
from tests.services.spark.test_spark_jobs import iris_rows

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROWS = 100_000


def press(dash_duo, element_id: str) -> None:
    """The panel sits at the foot of the CSV tab, where the window cannot scroll it to the
    middle (the helper ``click`` would find it covered): clicked by script instead."""
    element = dash_duo.wait_for_element_by_id(element_id)
    dash_duo.driver.execute_script("arguments[0].click()", element)


@pytest.fixture
def spark_console(dash_duo, settings, spark_server, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    start_spark_console(dash_duo, settings, spark_server.url, shared)
    return dash_duo, shared


def test_an_uploaded_csv_scored_on_spark_from_the_browser(spark_console, tmp_path):
    dash_duo, _ = spark_console
    source = tmp_path / "flowers.csv"
    iris_rows(ROWS).to_csv(source, index=False)
    upload_csv(dash_duo, source, ROWS)
    Select(dash_duo.find_element(f"#{Table.FORMAT}")).select_by_value("csv")
    press(dash_duo, Table.START)
    dash_duo.wait_for_contains_text(f"#{PANEL.progress}", "parts", timeout=240)
    dash_duo.wait_for_contains_text(f"#{PANEL.result}", f"{ROWS:,} rows of", timeout=240)
    assert "0 rows with an error" in dash_duo.find_element(f"#{PANEL.result}").text
    dash_duo.driver.execute_script(
        "arguments[0].click()", dash_duo.find_element(f"#{PANEL.result} a")
    )
    result = pd.read_csv(download_result(dash_duo, "flowers_with_predictions.csv", press=False))
    assert len(result) == ROWS and result["prediction"].notna().all()
    tab = next(
        link
        for link in dash_duo.find_elements(".nav-tabs .nav-link")
        if link.text == "Prediction History"
    )
    dash_duo.driver.execute_script("arguments[0].click()", tab)
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "flowers.csv · csv")
    assert "succeeded" in dash_duo.find_element(f"#{History.JOBS}").text
    assert dash_duo.get_logs() == []


def test_a_parquet_path_scored_on_spark_with_progress_and_cancel(spark_console):
    dash_duo, shared = spark_console
    parts = shared / "iris"
    parts.mkdir()
    frame = iris_rows(2_000_000, seed=2)
    for number, start in enumerate(range(0, len(frame), 50_000)):
        frame.iloc[start : start + 50_000].to_parquet(parts / f"part-{number:03}.parquet")
    dash_duo.find_element(f"#{Table.SOURCE}").send_keys(str(parts))
    dash_duo.find_element(f"#{Table.DESTINATION}").send_keys(str(shared / "out") + "\t")
    press(dash_duo, Table.START)
    dash_duo.wait_for_contains_text(f"#{PANEL.progress}", "parts", timeout=240)
    press(dash_duo, PANEL.cancel)
    dash_duo.wait_for_contains_text(
        f"#{PANEL.result}", "Cancelled: nothing was published", timeout=60
    )
    assert not (shared / "out").exists()
    assert dash_duo.get_logs() == []
