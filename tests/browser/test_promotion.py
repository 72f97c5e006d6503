"""A model owner evaluates and promotes in the browser: Challenger's version becomes
Champion after a confirmation that shows the evaluation, the history says so, and Roll back
(confirmed too) restores it. On a registry of its own."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from layouts.ids import Config, Promote
from services.registry.demo import IRIS_MODEL
from tests.browser_helpers import evaluate_labelled_iris, open_tab, screenshot, start_console
from tests.conftest import settings_for
from tests.copied_registry import copied_registry
from tests.waiting import until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def loaded_aliases(dash_duo) -> str:
    """What the loaded version's card says under "Aliases"."""
    found = dash_duo.driver.find_elements(
        By.XPATH, f"//*[@id='{Config.DETAILS}']//dt[.='Aliases']/following-sibling::dd[1]"
    )
    return found[0].text if found else ""


def champion_in_registry(settings) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    return str(client.get_model_version_by_alias(IRIS_MODEL, "Champion").version)


def test_evaluate_then_promote_with_the_evidence_see_the_history_and_roll_back(
    dash_duo, registry_dir, tmp_path
):
    """The data scientist's path: a labelled file evaluated (Champion against Challenger),
    the verdict, Challenger's version promoted after a confirmation that shows that
    evaluation, the history, and Roll back (confirmed too: Champion serves production)."""
    settings = settings_for(copied_registry(registry_dir, tmp_path / "data"))
    start_console(
        dash_duo, settings, default_model=IRIS_MODEL, default_version="1", alias_cache_seconds=60
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL} version 1")
    evaluate_labelled_iris(dash_duo, tmp_path)

    open_tab(dash_duo, "Model Configuration")
    assert loaded_aliases(dash_duo) == "Champion"
    dash_duo.wait_for_contains_text(f"#{Promote.PERMISSION}", "does not check permissions")
    until(lambda: dash_duo.find_element(f"#{Promote.SET}").is_enabled(), timeout=10)
    dash_duo.wait_for_contains_text(f"#{Promote.HISTORY}", "No alias has been moved")
    dash_duo.find_element(f"#{Promote.ALIAS}").send_keys("Champion")
    Select(dash_duo.find_element(f"#{Promote.VERSION}")).select_by_value("2")
    dash_duo.find_element(f"#{Promote.SET}").send_keys(Keys.ENTER)  # the keyboard's way

    body = f"#{Promote.MODAL_BODY}"
    dash_duo.wait_for_contains_text(
        body, "Champion points to version 1; it will point to version 2."
    )
    dash_duo.wait_for_contains_text(
        body,
        "Version 1 (as Champion): 100.0 % accuracy, version 2 (as Challenger): 97.3 % accuracy"
        " on iris_labeled.csv",
    )
    assert champion_in_registry(settings) == "1"  # nothing moves before the confirmation
    screenshot(dash_duo, "promotion-confirm")
    assert dash_duo.find_element(f"#{Promote.CONFIRM}").text == "Promote"
    dash_duo.find_element(f"#{Promote.CONFIRM}").click()

    dash_duo.wait_for_contains_text(f"#{Promote.STATUS}", "Champion: v1 → v2 by local user")
    dash_duo.wait_for_contains_text(f"#{Promote.HISTORY}", "Champion: v1 → v2 by local user")
    assert champion_in_registry(settings) == "2"
    until(lambda: loaded_aliases(dash_duo) == "—", timeout=10)  # version 1, loaded, lost it

    rollback = dash_duo.find_element(f"#{Promote.HISTORY} button")
    assert rollback.get_attribute("aria-label") == "Roll back Champion to version 1"
    rollback.click()
    dash_duo.wait_for_contains_text(
        body, "Champion points to version 2; it will point to version 1."
    )
    assert champion_in_registry(settings) == "2"
    assert dash_duo.find_element(f"#{Promote.CONFIRM}").text == "Roll back"
    assert dash_duo.find_element(f"#{Promote.MODAL_TITLE}").text == "Roll Champion back?"
    dash_duo.find_element(f"#{Promote.CONFIRM}").click()

    dash_duo.wait_for_contains_text(f"#{Promote.STATUS}", "Champion: v2 → v1 by local user")
    dash_duo.wait_for_contains_text(f"#{Promote.HISTORY}", "(rolled back)")
    assert champion_in_registry(settings) == "1"
    until(lambda: loaded_aliases(dash_duo) == "Champion", timeout=10)
    screenshot(dash_duo, "promotion-history")
    assert dash_duo.get_logs() == []
