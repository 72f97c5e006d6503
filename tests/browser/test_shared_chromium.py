"""The browser tests share one Chromium per process (tests/shared_chromium.py), relying on how
dash's ``Browser`` gets and gives back its driver. Here one Chromium is lent twice, the first
borrower leaving behind all it can; the second must get the same browser, clean."""

from __future__ import annotations

import pytest

from app import create_app
from layouts.ids import Config
from tests.conftest import free_port
from tests.shared_chromium import WINDOW, lend
from tests.waiting import until

pytestmark = pytest.mark.browser

LEFT = "left by an earlier test"


def _leave_everything_behind(driver) -> None:
    driver.execute_script(f"localStorage.setItem('left', '{LEFT}'); console.error('{LEFT}')")
    driver.add_cookie({"name": "left", "value": "by-an-earlier-test"})
    driver.set_window_size(420, 900)
    driver.set_script_timeout(1)
    driver.switch_to.new_window("tab")  # and a second tab


def _download(driver, name: str) -> None:
    driver.execute_script(
        "const link = document.createElement('a');"
        "link.href = URL.createObjectURL(new Blob(['a,b\\n1,2\\n'], {type: 'text/csv'}));"
        "link.download = arguments[0]; document.body.appendChild(link); link.click();",
        name,
    )


def test_a_lent_chromium_comes_back_the_same_browser_and_clean(
    shared_chromium, dash_thread_server, settings, request, tmp_path
):
    with lend(shared_chromium, dash_thread_server, request, tmp_path / "first") as first:
        first.start_server(create_app(settings=settings), port=free_port())
        first.wait_for_element(f"#{Config.LOAD}")
        _leave_everything_behind(first.driver)
        session = first.driver.session_id

    with lend(shared_chromium, dash_thread_server, request, tmp_path / "second") as second:
        driver = second.driver
        assert driver.session_id == session, "a new Chromium was launched"
        assert len(driver.window_handles) == 1
        assert driver.get_window_size() == {"width": WINDOW[0], "height": WINDOW[1]}
        second.server_url = dash_thread_server.url  # the first borrower's console and origin
        second.wait_for_element(f"#{Config.LOAD}")
        assert driver.get_cookies() == []
        assert driver.execute_script("return localStorage.getItem('left')") is None
        # a script longer than the first borrower's 1 s limit runs under the default again
        assert driver.execute_async_script("setTimeout(() => arguments[0]('ran'), 1500)") == "ran"
        _download(driver, "result.csv")
        until(lambda: (tmp_path / "second" / "result.csv").exists(), timeout=10)
        assert not list((tmp_path / "first").iterdir())
        assert second.get_logs() == []  # the first page's console error is not this test's
