"""The console audited with axe-core in headless Chromium, every tab in light and dark mode,
with a model loaded and results shown; and the tabs worked with the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from layouts.answer import FORM_ANSWER
from layouts.features.snippets import FORM_SNIPPETS
from layouts.ids import Config, Csv, History, Json, Page, Tab, form_switch
from layouts.page import TAB_LABELS
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.browser.axe import Violation, failing, run_axe
from tests.browser_helpers import (
    CSV_RESULT,
    click,
    css_of,
    open_tab,
    result_json,
    screenshot,
    start_console,
)
from tests.waiting import until

pytestmark = pytest.mark.browser


@pytest.fixture
def churn_console(dash_duo, settings) -> Iterator:
    """The churn model by its alias (the @Champion badge shows), as MODEL_VERSION would."""
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    yield dash_duo


def _with_results(dash_duo, tmp_path: Path) -> None:
    """A form prediction (the answer, its charts, the what-if sliders) and a scored file (the
    job panel, the result preview), so that what users see after working is audited too."""
    open_tab(dash_duo, TAB_LABELS[Tab.JSON])
    click(dash_duo, f"#{Json.FORM_PREDICT}")
    result_json(dash_duo, f"#{FORM_ANSWER.result}")
    open_tab(dash_duo, TAB_LABELS[Tab.CSV])
    source = tmp_path / "customers.csv"
    churn_frame(30, seed=5).to_csv(source, index=False)
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(source))
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Ready to predict")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, "30 rows scored")


# AG Grid leaves a grid's cells hidden until the grid has been in view (its columns are
# sized then): each grid is scrolled to, as a person reading the tab would, before the audit.
SHOW_GRIDS = """
document.querySelectorAll('.tab-pane.active .ag-root').forEach(
    grid => grid.scrollIntoView({block: 'center', behavior: 'instant'}));
"""
GRIDS_DRAWN = "return document.querySelector('.tab-pane.active .ag-delay-render') === null"


def _audit_every_tab(dash_duo) -> dict[str, list[Violation]]:
    found = {}
    for tab, label in TAB_LABELS.items():
        open_tab(dash_duo, label)
        dash_duo.wait_for_element(f"#{Page.TABS} .nav-link.active")
        if tab == Tab.HISTORY:
            dash_duo.wait_for_contains_text(f"#{History.LIST}", "form done")
        dash_duo.driver.execute_script(SHOW_GRIDS)
        until(lambda: dash_duo.driver.execute_script(GRIDS_DRAWN), timeout=10)
        found[label] = run_axe(dash_duo.driver)
    return found


def _report(setting: str, found: dict[str, list[Violation]]) -> str:
    lines = [f"axe-core, {setting}:"]
    for label, violations in found.items():
        counts = {
            i: sum(v.impact == i for v in violations)
            for i in ("critical", "serious", "moderate", "minor")
        }
        lines.append(f"  {label}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
        lines.extend(f"    {v.line()}" for v in violations)
    return "\n".join(lines)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_tab_has_no_critical_or_serious_violation(churn_console, tmp_path, theme):
    """Each tab after working in it, on a laptop and then on a phone-wide window (the same
    page narrowed, as a person resizing it would)."""
    dash_duo = churn_console
    if theme == "dark":
        click(dash_duo, f"#{Page.THEME_SWITCH}")
        dash_duo.wait_for_element("html[data-bs-theme='dark']")
    _with_results(dash_duo, tmp_path)
    reports, failures = [], {}
    for width in (1400, 420):
        dash_duo.driver.set_window_size(width, 1000)
        found = _audit_every_tab(dash_duo)
        reports.append(_report(f"{theme}, {width} px", found))
        failures |= {f"{label}, {width} px": failing(v) for label, v in found.items() if failing(v)}
    print("\n".join(reports))
    assert failures == {}, "\n".join(reports)


TABS_STATE = """
return Array.from(document.querySelectorAll('#page-tabs [role=tab]')).map(t => ({
    label: t.textContent, id: t.id, selected: t.getAttribute('aria-selected'),
    tabindex: t.getAttribute('tabindex'),
    panel: (document.getElementById(t.getAttribute('aria-controls')) || {}).id || null,
    labels_panel: (document.getElementById(t.getAttribute('aria-controls')) || {
        getAttribute: () => null}).getAttribute('aria-labelledby') === t.id,
}));
"""
FOCUSED_TAB = "return document.activeElement.closest('[role=tab]')?.textContent || null"
# The focused header control: its name and its focus ring (an outline; Bootstrap's own is a
# 25 % tint of blue, next to invisible on the blue header).
HEADER_FOCUS = """
const e = document.activeElement;
if (!e.closest('.console-header')) return null;
const style = getComputedStyle(e);
return [
  e.id || e.textContent.trim(), style.outlineStyle, parseFloat(style.outlineWidth),
  style.outlineColor,
];
"""


def _tabs(dash_duo) -> list[dict]:
    return dash_duo.driver.execute_script(TABS_STATE)


def _press(dash_duo, key: str) -> None:
    ActionChains(dash_duo.driver).send_keys(key).perform()


def test_tabs_are_reached_moved_and_opened_with_the_keyboard(churn_console):
    dash_duo = churn_console
    tabs = _tabs(dash_duo)
    assert [t["label"] for t in tabs] == list(TAB_LABELS.values())
    assert len({t["id"] for t in tabs}) == len(tabs)  # one id each
    assert all(t["panel"] and t["labels_panel"] for t in tabs)  # each names its own panel
    assert [t["selected"] for t in tabs] == ["true"] + ["false"] * 5
    assert [t["tabindex"] for t in tabs] == ["0"] + ["-1"] * 5  # one stop in the Tab order

    # From the top of the page, Tab alone reaches the open tab (bounded: the header first).
    dash_duo.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    header_rings = []
    for _ in range(15):
        _press(dash_duo, Keys.TAB)
        if dash_duo.driver.execute_script(FOCUSED_TAB):
            break
        header_rings.append(dash_duo.driver.execute_script(HEADER_FOCUS))
    assert dash_duo.driver.execute_script(FOCUSED_TAB) == TAB_LABELS[Tab.CONFIG]
    assert Page.THEME_SWITCH in [ring[0] for ring in header_rings if ring]
    faint = [
        ring
        for ring in header_rings
        if ring and (ring[1] == "none" or ring[2] < 2 or ring[3] != "rgb(255, 255, 255)")
    ]
    assert faint == [], "the header's focus rings must be seen on its blue"

    for _ in range(3):
        _press(dash_duo, Keys.ARROW_RIGHT)
    assert dash_duo.driver.execute_script(FOCUSED_TAB) == TAB_LABELS[Tab.HISTORY]
    assert _tabs(dash_duo)[0]["selected"] == "true"  # moving does not open
    _press(dash_duo, Keys.ENTER)
    dash_duo.wait_for_element(f"#{History.LIST}")
    until(lambda: _tabs(dash_duo)[3]["selected"] == "true", timeout=5)
    assert [t["tabindex"] for t in _tabs(dash_duo)] == ["-1"] * 3 + ["0"] + ["-1"] * 2
    until(lambda: dash_duo.find_element(f"#{History.LIST}").is_displayed(), timeout=5)  # fade

    # Home goes to the first tab, ArrowLeft from there wraps to the last; space opens it.
    _press(dash_duo, Keys.HOME)
    _press(dash_duo, Keys.ARROW_LEFT)
    assert dash_duo.driver.execute_script(FOCUSED_TAB) == TAB_LABELS[Tab.HELP]
    _press(dash_duo, Keys.SPACE)
    dash_duo.wait_for_contains_text(".help", "Troubleshooting")
    assert dash_duo.get_logs() == []


def test_a_true_false_switch_is_named_by_its_column(churn_console):
    dash_duo = churn_console
    open_tab(dash_duo, TAB_LABELS[Tab.JSON])
    switch = dash_duo.find_element(f"{css_of(form_switch('is_member'))}")
    label = dash_duo.driver.execute_script(
        "return document.querySelector(`label[for='${arguments[0].id}']`).textContent",
        switch,
    )
    assert label.startswith("is_member") and "true" not in label
    assert dash_duo.get_logs() == []


def test_narrow_screen_keeps_the_answer_in_sight_and_names_whole(churn_console, tmp_path):
    """At 420 px the result preview starts with the prediction and the error, and History
    wraps a model name between its dotted parts, never inside one."""
    dash_duo = churn_console
    _with_results(dash_duo, tmp_path)
    dash_duo.driver.set_window_size(420, 900)
    icon_middle, name_top, name_bottom = dash_duo.driver.execute_script(
        "const model = document.getElementById(arguments[0]);"
        "const icon = model.querySelector('.bi').getBoundingClientRect();"
        "const line = model.querySelector('.model-name').getClientRects()[0];"
        "return [icon.top + icon.height / 2, line.top, line.bottom];",
        str(Page.HEADER_MODEL),
    )
    assert name_top <= icon_middle <= name_bottom  # the header's box icon beside the name
    grid = f"{CSV_RESULT} .result-grid"
    headers = dash_duo.driver.execute_script(
        "const grid = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return Array.from(document.querySelectorAll(arguments[0] + ' .ag-header-cell'))"
        ".filter(h => { const r = h.getBoundingClientRect();"
        "  return r.width > 0 && r.left >= grid.left - 1 && r.right <= grid.right + 1; })"
        ".map(h => h.getAttribute('col-id'));",
        grid,
    )
    assert "prediction" in headers
    columns = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' .ag-header-cell'))"
        ".map(h => h.getAttribute('col-id'));",
        grid,
    )
    assert columns.index("error") < columns.index("age")  # the answer before the inputs
    screenshot(dash_duo, "narrow-csv-result", width=420)

    open_tab(dash_duo, TAB_LABELS[Tab.HISTORY])
    dash_duo.wait_for_contains_text(f"#{History.LIST}", "form done")
    lines = dash_duo.driver.execute_script(WRAPPED_LINES, f"#{History.LIST} .model-name")
    parts = set(CHURN_MODEL.split("."))
    for name_lines in lines:  # every line of a wrapped name is whole parts of it
        assert all(set(line.strip(".").split(".")) <= parts for line in name_lines), lines
    screenshot(dash_duo, "narrow-history", width=420)
    assert dash_duo.get_logs() == []


# The text of each element split where the browser wrapped it (a line per distinct top).
WRAPPED_LINES = """
return Array.from(document.querySelectorAll(arguments[0])).map(element => {
    const lines = new Map();
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i); range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (!rect) continue;
            const top = Math.round(rect.top);
            lines.set(top, (lines.get(top) || '') + node.data[i]);
        }
    }
    return Array.from(lines.values());
});
"""


FOCUSED_ID = "return document.activeElement && document.activeElement.id"
FOCUSED_NAME = (
    "const e = document.activeElement;"
    "return e ? (e.id || e.tagName + '.' + e.className).slice(0, 60) : null"
)


def _tab_until(dash_duo, reached, keys: str = Keys.TAB, limit: int = 80) -> list[str]:
    """Press Tab (or Shift+Tab) until ``reached()``, as a keyboard user moves through the
    page; bounded, so a control that cannot be reached fails the test. The stops passed."""
    passed: list[str] = []
    for _ in range(limit):
        if reached():
            return passed
        _press(dash_duo, keys)
        passed.append(dash_duo.driver.execute_script(FOCUSED_NAME))
    assert reached(), f"not reached with {limit} presses; focus went {passed}"
    return passed


def test_with_the_keyboard_alone_a_model_is_loaded_predicted_and_every_tab_opened(churn_console):
    dash_duo = churn_console
    driver = dash_duo.driver
    focused = lambda: driver.execute_script(FOCUSED_ID)  # noqa: E731

    # Load version 1: the version picker, typed into, Enter; then Load Model, Enter.
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    _tab_until(dash_duo, lambda: driver.execute_script(IN_VERSION_PICKER))
    _press(dash_duo, "1")
    _press(dash_duo, Keys.ENTER)
    _tab_until(dash_duo, lambda: focused() == Config.LOAD)
    _press(dash_duo, Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL} version 1")

    # To the tabs (back up the page), the JSON tab opened, the form's Predict pressed.
    _tab_until(dash_duo, lambda: driver.execute_script(FOCUSED_TAB), Keys.SHIFT + Keys.TAB)
    _press(dash_duo, Keys.ARROW_RIGHT)
    _press(dash_duo, Keys.ENTER)
    until(lambda: _tabs(dash_duo)[1]["selected"] == "true", timeout=5)
    passed = _tab_until(dash_duo, lambda: focused() == Json.FORM_PREDICT)
    in_editor = [stop for stop in passed if "ace_" in stop]
    assert len(in_editor) == 1 and "ace_scroller" in in_editor[0], passed  # one stop: the text
    _press(dash_duo, Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{FORM_ANSWER.result}", "%)")
    assert "v1" in dash_duo.find_element(f"#{Page.HEADER_MODEL}").text

    # "Use via API" under the answer: opened with Enter, its Copy buttons are buttons
    _tab_until(dash_duo, lambda: driver.execute_script(SNIPPETS_SUMMARY))
    _press(dash_duo, Keys.ENTER)
    _tab_until(dash_duo, lambda: focused() == FORM_SNIPPETS.copy("curl"))
    copy = driver.switch_to.active_element
    assert copy.get_attribute("role") == "button" and "curl" in copy.get_attribute("aria-label")

    # Every tab, one after the other, opened from the keyboard and shown.
    _tab_until(
        dash_duo, lambda: driver.execute_script(FOCUSED_TAB), Keys.SHIFT + Keys.TAB, limit=160
    )
    for index in range(2, len(TAB_LABELS)):
        _press(dash_duo, Keys.ARROW_RIGHT)
        _press(dash_duo, Keys.ENTER)
        until(lambda index=index: _tabs(dash_duo)[index]["selected"] == "true", timeout=5)
        panel = driver.find_element(By.ID, _tabs(dash_duo)[index]["panel"])
        # the tab is marked selected a moment before its panel shows (Bootstrap's fade)
        until(lambda panel=panel: panel.is_displayed() and panel.text.strip(), timeout=5)
    assert dash_duo.get_logs() == []


IN_VERSION_PICKER = f"return !!document.activeElement.closest('#{Config.VERSION}')"
SNIPPETS_SUMMARY = (
    "const e = document.activeElement;"
    f"return e.tagName === 'SUMMARY' && !!e.closest('#{FORM_SNIPPETS.panel}')"
)
