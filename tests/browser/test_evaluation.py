"""The data scientist's path in the browser: a labelled iris file, Champion against
Challenger evaluated against its species column, the verdict on screen."""

from __future__ import annotations

import pytest

from layouts.features.evaluation import CSV_SECTION
from layouts.ids import Config, History
from services.registry.demo import IRIS_MODEL, _iris_data
from tests.browser_helpers import job_result, open_tab, start_console, upload_csv

pytestmark = pytest.mark.browser


def test_a_labelled_file_evaluates_champion_against_challenger(dash_duo, settings, tmp_path):
    source = tmp_path / "iris_labeled.csv"
    X, y = _iris_data()
    X.assign(species=y).to_csv(source, index=False)
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    open_tab(dash_duo, "CSV Prediction")
    upload_csv(dash_duo, source, 150)
    # the one column the model does not read is offered as the label, chosen already
    dash_duo.wait_for_contains_text(f"#{CSV_SECTION.label}", "species", timeout=30)
    dash_duo.wait_for_contains_text(f"#{CSV_SECTION.refs}", "Challenger")
    dash_duo.driver.execute_script("window.scrollTo({top: 1e6, behavior: 'instant'})")
    dash_duo.find_element(f"#{CSV_SECTION.run}").click()
    result = job_result(CSV_SECTION.name)
    dash_duo.wait_for_contains_text(
        result, "Challenger is right on 0 rows where Champion is wrong and wrong on 4", timeout=90
    )
    text = dash_duo.find_element(result).text
    assert "150 rows evaluated" in text and "Balanced accuracy" in text
    assert "Confusion matrices" in text
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "evaluation of Champion, Challenger")
    assert dash_duo.get_logs() == []
