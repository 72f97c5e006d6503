"""The data scientist's path in the browser: a labelled iris file, Champion against
Challenger evaluated against its species column, the verdict on screen."""

from __future__ import annotations

import pytest

from layouts.features.evaluation import CSV_SECTION
from layouts.features.snippets import COMPARE_FILE_SNIPPETS
from layouts.ids import Compare, Config, History, Page
from services.registry.demo import IRIS_MODEL
from tests.browser.test_snippets import shown
from tests.browser_helpers import (
    click,
    evaluate_labelled_iris,
    job_result,
    open_tab,
    screenshot,
    start_console,
)

pytestmark = pytest.mark.browser


def test_a_labelled_file_evaluates_champion_against_challenger(dash_duo, settings, tmp_path):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    # pressed before any file: each says so, and the new file takes what they said away
    open_tab(dash_duo, "CSV Prediction")
    click(dash_duo, f"#{CSV_SECTION.run}")
    dash_duo.wait_for_contains_text(f"#{CSV_SECTION.error}", "No file is uploaded yet")
    assert "Upload a CSV file above." in dash_duo.find_element(f"#{CSV_SECTION.error}").text
    click(dash_duo, f"#{Compare.CSV_RUN}")
    dash_duo.wait_for_contains_text(f"#{Compare.CSV_ERROR}", "No file is uploaded yet")
    # the one column the model does not read is offered as the label, chosen already
    evaluate_labelled_iris(dash_duo, tmp_path)
    assert dash_duo.find_element(f"#{Compare.CSV_ERROR}").text == ""
    result = job_result(CSV_SECTION.name)
    dash_duo.wait_for_contains_text(
        result, "Challenger is right on 0 rows where Champion is wrong and wrong on 4"
    )
    text = dash_duo.find_element(result).text
    assert "150 rows of iris_labeled.csv evaluated against species" in text
    assert "Balanced accuracy" in text
    assert "Confusion matrices" in text
    # "Use via API" for this evaluation and for comparing on this file (run in
    # tests/services/test_snippets.py), closed under their sections
    evaluate = shown(dash_duo, CSV_SECTION.snippets, "python")
    assert "'label': 'species'" in evaluate and "'compare_with': ['Challenger']" in evaluate
    assert "/Champion/jobs" in evaluate and "'iris_labeled.csv'" in evaluate
    compare = shown(dash_duo, COMPARE_FILE_SNIPPETS, "curl")
    assert '"kind": "compare"' in compare and "iris_labeled_compared.csv" in compare
    # the ROC curves drawn as every chart is: on the page's own background, dark mode too
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    curves = dash_duo.wait_for_element(f"{result} .chart-curves .main-svg")
    assert curves.value_of_css_property("background-color") == "rgba(0, 0, 0, 0)"
    screenshot(dash_duo, "evaluation-dark")
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "evaluation of Champion, Challenger")
    done = dash_duo.find_element(f"#{History.JOBS}").text
    assert "None" not in done  # an evaluation keeps no file: "Done in … s." and no more
    assert dash_duo.get_logs() == []
