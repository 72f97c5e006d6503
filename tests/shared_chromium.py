"""One headless Chromium per test process, lent to each browser test in a fresh tab.

Launching Chromium and its driver costs a second or more of the two CPUs per test; the
browser tests are most of the suite's time. Each test still gets what a new browser gave it:
one fresh tab at laptop size (no earlier tab, no CDP header, no session storage), no cookies,
its own download folder, an empty browser log, and the local storage of its console's origin
cleared when it ends. If the shared browser cannot be made ready (it crashed, a dialog holds
it), it is replaced by a new one.

Checked on dash 4.4.1: ``Browser.__init__`` asks ``get_webdriver()`` for its driver and
``Browser.__exit__`` quits it (tests/browser/test_shared_chromium.py notices a change).
"""

from __future__ import annotations

import contextlib
from typing import Any

from dash.testing.composite import DashComposite
from selenium.common.exceptions import WebDriverException

WINDOW = (1400, 1000)  # as CHROMIUM_ARGUMENTS' --window-size


class SharedChromium:
    """The process's Chromium, started by the first test that needs one."""

    def __init__(self) -> None:
        self.driver: Any = None

    def quit(self) -> None:
        if self.driver is not None:
            with contextlib.suppress(WebDriverException):
                self.driver.quit()
            self.driver = None


class SharedChromiumComposite(DashComposite):
    """``dash_duo`` on the shared Chromium: it lends it at the start and takes it back at the
    end, never quitting it."""

    def __init__(self, shared: SharedChromium, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(**kwargs)

    def get_webdriver(self) -> Any:
        driver = self._shared.driver
        if driver is not None:
            try:
                _fresh_tab(driver, self.download_path)
                return driver
            except WebDriverException:
                self._shared.quit()
        driver = super().get_webdriver()
        _fresh_tab(driver, self.download_path)
        self._shared.driver = driver
        return driver

    def __exit__(self, *exc: object) -> None:
        """Forget this test's console: its origin's storage goes, the browser stays."""
        url = getattr(self.server, "url", "") if self.server else ""
        if not url:
            return
        port = url.rstrip("/").rsplit(":", 1)[-1]
        try:
            for host in ("localhost", "127.0.0.1"):
                self.driver.execute_cdp_cmd(
                    "Storage.clearDataForOrigin",
                    {"origin": f"http://{host}:{port}", "storageTypes": "all"},
                )
        except WebDriverException:  # the next test gets a new browser instead
            self._shared.quit()


def _fresh_tab(driver: Any, downloads: str) -> None:
    """One new tab, every other closed; cookies gone; downloads to ``downloads``."""
    earlier = list(driver.window_handles)
    driver.switch_to.new_window("tab")
    fresh = driver.current_window_handle
    for handle in earlier:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(fresh)
    driver.set_window_size(*WINDOW)
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads}
    )
    driver.get_log("browser")  # what the earlier tests' pages logged is not this test's
