"""The API reference in headless Chromium: Swagger UI from the console's own files renders
the console's document under its Content-Security-Policy, and a request tried from it works."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import start_console

pytestmark = pytest.mark.browser


def test_the_reference_renders_and_tries_a_route_with_no_console_error(dash_duo, settings):
    start_console(dash_duo, settings)
    link = dash_duo.driver.find_element(By.CSS_SELECTOR, ".console-header a[href='api/docs']")
    dash_duo.driver.get(link.get_attribute("href"))  # where the header's link leads
    dash_duo.wait_for_contains_text(".swagger-ui .title", "Model Console API", timeout=20)
    dash_duo.wait_for_contains_text(".swagger-ui", "/api/models/{name}/{ref}/predict")
    health = dash_duo.driver.find_element(By.ID, "operations-console-health")
    health.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    dash_duo.find_element("#operations-console-health .try-out__btn").click()
    dash_duo.find_element("#operations-console-health .execute").click()
    dash_duo.wait_for_contains_text("#operations-console-health .live-responses-table", '"ok"')
    assert dash_duo.get_logs() == []  # a CSP refusal would be a console error
