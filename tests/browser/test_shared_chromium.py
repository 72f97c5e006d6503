"""The browser tests share one Chromium per process (tests/shared_chromium.py), relying on how
dash's ``Browser`` gets and gives back its driver: if dash changes that, this fails first.
The two tests run in this order, in one process (a file stays on one xdist worker)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from layouts.ids import Config
from tests.conftest import free_port

pytestmark = pytest.mark.browser

earlier: dict[str, object] = {}


def _open_console(dash_duo, settings, port: int) -> None:
    dash_duo.start_server(create_app(settings=replace(settings)), port=port)
    dash_duo.wait_for_element(f"#{Config.LOAD}")


def test_a_first_test_leaves_tabs_a_cookie_storage_and_a_small_window(dash_duo, settings, tmp_path):
    earlier["port"] = free_port()
    _open_console(dash_duo, settings, earlier["port"])
    driver = dash_duo.driver
    driver.execute_script("localStorage.setItem('left-by', 'an earlier test')")
    driver.add_cookie({"name": "left-by", "value": "an-earlier-test"})
    driver.set_window_size(420, 900)
    driver.switch_to.new_window("tab")
    earlier["session"] = driver.session_id
    assert dash_duo.download_path == str(tmp_path / "download")


def test_the_next_test_gets_the_same_chromium_clean(dash_duo, settings, tmp_path):
    driver = dash_duo.driver
    assert earlier.get("session") == driver.session_id, "a new Chromium was launched"
    assert len(driver.window_handles) == 1
    assert driver.get_window_size() == {"width": 1400, "height": 1000}
    _open_console(dash_duo, settings, earlier["port"])  # the same origin as the first test's
    assert driver.get_cookies() == []
    assert driver.execute_script("return localStorage.getItem('left-by')") is None
    assert dash_duo.download_path == str(tmp_path / "download")
