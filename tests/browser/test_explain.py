"""Confidence, charts, explanations and importance in the browser, light and dark."""

from __future__ import annotations

import json

import pytest

from layouts.answer import FORM_ANSWER, JSON_ANSWER
from layouts.csv_tab import PANEL as CSV_PANEL
from layouts.ids import Config, Csv, Json, Page
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, _iris_data
from tests.browser_helpers import (
    CSV_RESULT,
    click,
    held_requests,
    hold_requests,
    open_tab,
    release_held,
    screenshot,
    start_console,
    type_json,
)
from tests.conftest import SETOSA, VIRGINICA
from tests.waiting import until

pytestmark = pytest.mark.browser


def _bars(dash_duo, chart: str, within: str) -> int:
    selector = f"#{within} .chart-{chart} .main-svg"
    dash_duo.wait_for_element(selector, timeout=30)
    return len(dash_duo.find_elements(f"#{within} .chart-{chart} .point"))


def _labels_cross_the_names(dash_duo, chart: str) -> bool:
    """Whether a bar's label is drawn over one of the axis' names (there must be both)."""
    return dash_duo.driver.execute_script(
        """
        const chart = document.querySelector(arguments[0]);
        const boxes = (selector) =>
          [...chart.querySelectorAll(selector)].map((t) => t.getBoundingClientRect());
        const apart = (a, b) =>
          a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
        const names = boxes(".ytick text");
        const labels = boxes(".point text");
        if (!names.length || !labels.length) return null;
        return labels.some((label) => names.some((n) => !apart(label, n)));
        """,
        chart,
    )


def _tick_texts(dash_duo, chart: str) -> list[str]:
    return [tick.text for tick in dash_duo.find_elements(f"{chart} .xtick text")]


@pytest.mark.screenshots
def test_form_answer_shows_confidence_waterfall_and_importance(dash_duo, settings):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL} version 1")
    dash_duo.wait_for_contains_text(f"#{Config.IMPORTANCE}", "coefficients on scaled inputs")
    assert _bars(dash_duo, "importance", Config.IMPORTANCE) == 6
    assert "training reference (2,000 rows)" in dash_duo.find_element(f"#{Config.IMPORTANCE}").text
    screenshot(dash_duo, "explain-importance")
    open_tab(dash_duo, "JSON Prediction")
    click(dash_duo, f"#{Json.FORM_PREDICT}")
    dash_duo.wait_for_contains_text(f"#{FORM_ANSWER.result}", "%)")
    assert _bars(dash_duo, "probabilities", FORM_ANSWER.result) == 2
    # base value, six inputs and the output
    dash_duo.wait_for_contains_text(f"#{FORM_ANSWER.result}", "linear explainer")
    waterfall = f"#{FORM_ANSWER.result} .chart-waterfall"
    dash_duo.wait_for_element(f"{waterfall} .main-svg")
    assert "city = " in dash_duo.find_element(waterfall).text
    assert "100%" in _tick_texts(dash_duo, f"#{FORM_ANSWER.result} .chart-probabilities")
    screenshot(dash_duo, "explain-form-light", docs=True)
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "explain-form-dark")
    assert dash_duo.get_logs() == []


def test_a_one_row_answer_is_shown_while_its_explanation_is_still_worked_out(dash_duo, settings):
    # version 2 (logistic) explains log-odds: its base value is below zero, its label left of
    # the bar's end, close to the axis' names in a half-screen window
    dash_duo.driver.set_window_size(700, 1000)
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="2")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 2")
    open_tab(dash_duo, "JSON Prediction")
    # the follow-up (the change of the store the answer writes) waits, as a slow explanation
    hold_requests(dash_duo, f'"{JSON_ANSWER.asked}.data"')
    type_json(dash_duo, json.dumps(SETOSA))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 1 record")
    click(dash_duo, f"#{Json.PREDICT}")
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result} .single-answer", "0 · setosa")
    until(lambda: held_requests(dash_duo) > 0, timeout=20)
    assert dash_duo.find_element(f"#{JSON_ANSWER.result} .single-answer").is_displayed()
    assert "Working out how sure" in dash_duo.find_element(f"#{JSON_ANSWER.insight}").text
    assert not dash_duo.find_elements(f"#{JSON_ANSWER.result} .chart-waterfall")
    release_held(dash_duo)  # then the confidence and charts join the answer
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result} .single-answer", "%)", timeout=20)
    waterfall = f"#{JSON_ANSWER.result} .chart-waterfall"
    dash_duo.wait_for_element(f"{waterfall} .main-svg", timeout=20)
    assert _labels_cross_the_names(dash_duo, waterfall) is False
    assert _bars(dash_duo, "probabilities", JSON_ANSWER.result) == 3
    assert dash_duo.get_logs() == []


def test_json_batch_shows_distribution_and_confidence_charts(dash_duo, settings):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    open_tab(dash_duo, "JSON Prediction")
    type_json(dash_duo, json.dumps([SETOSA, VIRGINICA]))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid — 2 records")
    dash_duo.find_element(f"#{Json.PREDICT}").click()
    dash_duo.wait_for_contains_text(f"#{JSON_ANSWER.result}", "Predictions per class (2 rows)")
    assert _bars(dash_duo, "distribution", JSON_ANSWER.result) == 2  # setosa and virginica
    assert _bars(dash_duo, "confidence", JSON_ANSWER.result) >= 1
    for chart in ("distribution", "confidence"):  # rows counted: no 0.5 of a row
        ticks = dash_duo.find_elements(f"#{JSON_ANSWER.result} .chart-{chart} .ytick text")
        assert ticks and all(tick.text.isdigit() for tick in ticks), [t.text for t in ticks]
    screenshot(dash_duo, "explain-json-batch")
    assert dash_duo.get_logs() == []


def test_csv_result_has_its_distribution(dash_duo, settings, tmp_path):
    dash_duo.driver.set_window_size(700, 1000)  # a half-screen window: columns at their least
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    source = tmp_path / "flowers.csv"
    _iris_data()[0].to_csv(source, index=False)
    open_tab(dash_duo, "CSV Prediction")
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(source))
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Ready to predict")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "Predictions per class (150 rows)")
    assert _bars(dash_duo, "distribution", CSV_PANEL.result) == 3
    inside = dash_duo.find_elements(f"{CSV_RESULT} .chart-distribution text.bartext-inside")
    assert inside, "the counts are drawn inside their bars"
    for label in inside:  # white on the blue bar (4.5:1), not the theme's text (3.5:1)
        assert label.value_of_css_property("fill") == "rgb(255, 255, 255)", label.text
    names = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map("
        "(h) => [h.textContent, h.scrollWidth <= h.clientWidth])",
        f"{CSV_RESULT} .result-grid .ag-header-cell-text",
    )
    assert "prediction_label" in [name for name, _ in names]
    assert [name for name, whole in names if not whole] == []  # no column's name cut short
    screenshot(dash_duo, "explain-csv")
    assert dash_duo.get_logs() == []
