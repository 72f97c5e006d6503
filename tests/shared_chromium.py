"""One headless Chromium per test process, lent to each browser test in a fresh tab.

Launching Chromium and its driver for every test was a large part of the browser tests' CPU.
Each test still gets what a new browser gave it: one fresh tab at laptop size (no earlier
tab, so no CDP header or session storage), no cookies, the driver's default timeouts and no
key held down, its own download folder, an empty browser log, and none of the storage of the
consoles earlier tests opened. A test's page is closed when it ends, before its server stops.
If the shared browser cannot be made ready (it crashed, its driver died, a dialog holds it), a
new one is launched.

Checked on dash 4.4.1: ``Browser.__init__`` asks ``get_webdriver()`` for its driver and
``Browser.__exit__`` quits it; both are overridden here (tests/browser/test_shared_chromium.py
fails when a test is given a new Chromium or a used one).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from dash.testing.composite import DashComposite
from selenium.webdriver.common.actions.action_builder import ActionBuilder

WINDOW = (1400, 1000)
SCRIPT_TIMEOUT_S = 30  # Selenium's defaults, which a test may have changed
PAGE_LOAD_TIMEOUT_S = 300


class SharedChromium:
    """The process's Chromium, launched by the first test that needs one, and the origins of
    the consoles it has shown (their storage is cleared before the next test)."""

    def __init__(self) -> None:
        self.driver: Any = None
        self.origins: set[str] = set()

    def forget(self) -> None:
        """Quit the browser, whatever state it is in; the next test launches another."""
        if self.driver is not None:
            with contextlib.suppress(Exception):
                self.driver.quit()
        self.driver = None
        self.origins.clear()


class SharedChromiumComposite(DashComposite):
    """``dash_duo`` on the shared Chromium: lent at the start, taken back at the end, never
    quit by a test."""

    def __init__(self, shared: SharedChromium, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(**kwargs)

    def get_webdriver(self) -> Any:
        if self._shared.driver is not None:
            try:
                _fresh_tab(self._shared, self.download_path)
                return self._shared.driver
            except Exception:  # any failure: a new browser rather than a doubtful one
                self._shared.forget()
        self._shared.driver = super().get_webdriver()
        try:
            _fresh_tab(self._shared, self.download_path)
        except Exception:
            self._shared.forget()
            raise
        return self._shared.driver

    def __exit__(self, *exc: object) -> None:
        """Close the test's page (its timers stop calling its server) and note its origin."""
        port = self.server.url.rstrip("/").rsplit(":", 1)[-1] if self.server else ""
        self._shared.origins.update(f"http://{host}:{port}" for host in ("localhost", "127.0.0.1"))
        try:
            self.driver.get("about:blank")
        except Exception:
            self._shared.forget()


def _fresh_tab(shared: SharedChromium, downloads: str) -> None:
    """One new tab, every other closed; no cookies and no earlier console's storage; the
    driver's defaults back; downloads to ``downloads``."""
    driver = shared.driver
    earlier = list(driver.window_handles)
    driver.switch_to.window(earlier[0])  # a new tab needs a current one that still exists
    driver.switch_to.new_window("tab")
    fresh = driver.current_window_handle
    for handle in earlier:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(fresh)
    driver.set_window_size(*WINDOW)
    driver.set_script_timeout(SCRIPT_TIMEOUT_S)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    ActionBuilder(driver).clear_actions()
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    for origin in shared.origins:
        driver.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
        )
    shared.origins.clear()
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads}
    )
    driver.get_log("browser")  # what the earlier tests' pages logged is not this test's


def lend(
    shared: SharedChromium, server: Any, request: Any, downloads: Path
) -> SharedChromiumComposite:
    """A ``dash_duo`` for ``server`` on the shared Chromium, with dash's command-line options
    (always a local Chromium: the sharing uses Chrome's DevTools protocol), downloading to
    ``downloads`` (made here)."""
    downloads.mkdir()
    return SharedChromiumComposite(
        shared,
        server=server,
        browser=request.config.getoption("webdriver"),
        headless=request.config.getoption("headless"),
        options=request.config.hook.pytest_setup_options(),
        download_path=str(downloads),
        percy_assets_root=request.config.getoption("percy_assets"),
        percy_finalize=request.config.getoption("nopercyfinalize"),
        pause=request.config.getoption("pause"),
    )
