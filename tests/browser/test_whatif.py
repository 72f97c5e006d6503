"""What-if on the form in the browser: a slider re-predicts, the waterfall and the ICE chart
follow, the category list fills its field; light and dark mode, no console errors."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from layouts.answer import FORM_ANSWER
from layouts.ids import Config, Insight, Page, form_field, whatif_choice, whatif_slider
from services.registry.demo import CHURN_MODEL
from tests.browser_helpers import click, css_of, open_tab, screenshot, start_console
from tests.waiting import until

pytestmark = pytest.mark.browser
WATERFALL = f"#{FORM_ANSWER.result} .chart-waterfall"
ICE = f"#{Insight.WHATIF_ICE} .chart-ice"


def _field(dash_duo, column: str) -> str:
    return dash_duo.find_element(css_of(form_field(column))).get_attribute("value")


def _slide(dash_duo, column: str, key: str) -> None:
    """Move a slider as a person does with the keyboard: focus its thumb, press a key."""
    thumb = dash_duo.find_element(f"{css_of(whatif_slider(column))} [role='slider']")
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", thumb
    )
    thumb.send_keys(key)


@pytest.mark.screenshots
def test_sliders_and_categories_predict_again_and_move_the_charts(dash_duo, settings):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL} version 1")
    open_tab(dash_duo, "JSON Prediction")
    dash_duo.wait_for_contains_text(f"#{Insight.WHATIF_NOTE}", "training reference, 2,000 rows")
    dash_duo.wait_for_element(css_of(whatif_slider("tenure_months")))
    # the longest tenure seen in training, written into the field, predicted at once
    _slide(dash_duo, "tenure_months", Keys.END)
    until(lambda: _field(dash_duo, "tenure_months") not in ("", "12"), timeout=10)
    longest = _field(dash_duo, "tenure_months")
    dash_duo.wait_for_contains_text(WATERFALL, f"tenure_months = {longest}", timeout=30)
    dash_duo.wait_for_contains_text(f"#{FORM_ANSWER.result}", "%)")
    dash_duo.wait_for_element(f"{ICE} .main-svg")
    assert "What if age changed" in dash_duo.find_element(ICE).text
    # another feature to sweep: only the chart changes
    Select(dash_duo.find_element(f"#{Insight.WHATIF_FEATURE}")).select_by_visible_text(
        "tenure_months"
    )
    dash_duo.wait_for_contains_text(ICE, "What if tenure_months changed")
    assert len(dash_duo.find_elements(f"{ICE} .scatterlayer .point")) > 10
    # the lowest tenure: the slider's other end
    _slide(dash_duo, "tenure_months", Keys.HOME)
    until(lambda: _field(dash_duo, "tenure_months") != longest, timeout=10)
    dash_duo.wait_for_contains_text(
        WATERFALL, f"tenure_months = {_field(dash_duo, 'tenure_months')}", timeout=30
    )
    # a category seen in training fills the text field, which still takes any text
    choice = dash_duo.find_element(css_of(whatif_choice("city")))
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", choice)
    Select(choice).select_by_visible_text("Rome")
    until(lambda: _field(dash_duo, "city") == "Rome", timeout=10)
    dash_duo.wait_for_contains_text(WATERFALL, "city = Rome", timeout=30)
    screenshot(dash_duo, "whatif-light", docs=True, docs_from=f"#{FORM_ANSWER.result}")
    click(dash_duo, f"#{Page.THEME_SWITCH}")
    dash_duo.wait_for_element("html[data-bs-theme='dark']")
    screenshot(dash_duo, "whatif-dark")
    assert dash_duo.get_logs() == []
