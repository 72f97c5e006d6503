"""Helpers for browser tests: start the console, act as a user, save screenshots."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.keys import Keys

from app import create_app
from layouts.answer import JSON_ANSWER
from layouts.csv_tab import PANEL as CSV_PANEL
from layouts.features.evaluation import CSV_SECTION
from layouts.ids import Config, Csv, Json
from layouts.json_tab import EMPTY_EDITOR
from services.access.caller import LOCAL_CALLER
from services.registry.demo import IRIS_MODEL, _iris_data
from services.run_history import RunHistory
from services.settings import Settings
from tests.conftest import free_port
from tests.waiting import until

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# docs/users.md shows pictures these tests take; they are written only when asked, so that a
# test run leaves the committed ones alone: DOCS_SCREENSHOTS=1 pytest -m screenshots
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DOCS_MAX_HEIGHT = 1600  # the top of a long page (or of ``docs_from``) is what docs show
CSV_RESULT = f"#{CSV_PANEL.result}"  # what became of the CSV tab's job


def start_console(dash_duo: Any, settings: Settings, **overrides: Any) -> None:
    """The console in this process on a port of its own, with no runs in its history yet:
    each test begins as a person who has not predicted anything (the runs are kept in the
    database a worker's tests share)."""
    settings = replace(settings, **overrides)
    RunHistory(settings.audit_url, settings.history_size).clear(LOCAL_CALLER)
    app = create_app(settings=settings)
    dash_duo.start_server(app, port=free_port())  # its own port: tests run two at a time
    dash_duo.wait_for_element(f"#{Config.LOAD}")


def start_spark_console(dash_duo: Any, settings: Settings, spark_url: str, shared: Path) -> None:
    """The console on the iris model with Spark, allowed to read and write in ``shared``,
    open on the CSV tab."""
    start_console(
        dash_duo,
        settings,
        default_model=IRIS_MODEL,
        default_version="Champion",
        app_data_dir=shared.parent / "app",
        spark_remote=spark_url,
        spark_allowed_locations=(str(shared),),
        predict_chunk_rows=20_000,
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    open_tab(dash_duo, "CSV Prediction")


def open_tab(dash_duo: Any, label: str) -> None:
    """Scroll up to the tabs (a sticky header covers them lower down) and open one."""
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    for link in dash_duo.find_elements(".nav-tabs .nav-link"):
        if link.text == label:
            link.click()
            return
    raise AssertionError(f"no tab labelled {label!r}")


def load_model(dash_duo: Any, name: str, ref: str) -> None:
    choose(dash_duo, Config.MODEL, name)
    choose(dash_duo, Config.VERSION, ref)
    dash_duo.find_element(f"#{Config.LOAD}").click()


def choose(dash_duo: Any, dropdown_id: str, text: str) -> None:
    """Type into a searchable dropdown and take the option, as a user would. The options
    can be replaced while typing (the version list follows the model): type again then."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    search = dash_duo.find_element(".dash-dropdown-content[data-state='open'] input")

    def offered() -> bool:
        search.send_keys(Keys.CONTROL, "a")
        search.send_keys(text)
        try:
            dash_duo.wait_for_contains_text(".dash-dropdown-options", text, timeout=3)
        except TimeoutException:
            return False
        return True

    until(offered, timeout=20)
    search.send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{dropdown_id}", text)


def type_json(dash_duo: Any, text: str) -> None:
    """Replace the editor's text by typing; waits until the app has seen the cleared editor,
    so what the validation line says next is about the new text."""
    editor = dash_duo.find_element(f"#{Json.EDITOR} textarea")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", EMPTY_EDITOR)
    editor.send_keys(text)


def result_json(dash_duo: Any, selector: str = f"#{JSON_ANSWER.result}") -> dict[str, Any]:
    dash_duo.wait_for_contains_text(selector, '"predictions"')
    return json.loads(dash_duo.find_element(f"{selector} code").text)


def wait_for_predictions(
    dash_duo: Any, expected: list, selector: str = f"#{JSON_ANSWER.result}"
) -> None:
    until(lambda: result_json(dash_duo, selector)["predictions"] == expected, timeout=10)


def screenshot(
    dash_duo: Any, name: str, width: int = 1400, docs: bool = False, docs_from: str = "body"
) -> Path:
    """A full-page PNG under tests/artifacts/ to look at. With ``docs`` (and
    DOCS_SCREENSHOTS=1 in the environment), also docs/screenshots/<name>.png: from the top
    of ``docs_from`` down at most ``DOCS_MAX_HEIGHT``, in 256 colours, so it stays small."""
    ARTIFACTS.mkdir(exist_ok=True)
    driver = dash_duo.driver
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 800), 6000))
    path = ARTIFACTS / f"{name}.png"
    for_docs = docs and os.environ.get("DOCS_SCREENSHOTS") == "1"
    if for_docs:  # from the top of the page, as a reader opening it sees it
        driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    driver.save_screenshot(str(path))
    if for_docs:
        top = driver.execute_script(
            "const box = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return Math.max(0, box.top - 12);",
            docs_from,
        )
        _docs_copy(path, DOCS_SCREENSHOTS / path.name, int(top))
    return path


def _docs_copy(source: Path, target: Path, top: int) -> None:
    from PIL import Image  # only here: mlflow's matplotlib brings it to the dev environment

    with Image.open(source) as picture:
        bottom = min(picture.height, top + DOCS_MAX_HEIGHT)
        part = picture.crop((0, top, picture.width, bottom))
        target.parent.mkdir(parents=True, exist_ok=True)
        part.convert("RGB").quantize(256).save(target, optimize=True)


@dataclass(frozen=True)
class Missed:
    """A click that did not land, and why (falsy: ``until`` tries again, and names the last
    reason when it gives up)."""

    why: str

    def __bool__(self) -> bool:
        return False


def click(dash_duo: Any, selector: str) -> None:
    """Scroll the element into the middle of the window and click it, as a person would;
    grids render after the text around them, so the button may still move: try again.
    (At once: Bootstrap scrolls smoothly, and a click during the scroll misses.)"""

    def attempt() -> bool | Missed:
        try:
            element = dash_duo.find_element(selector)
            dash_duo.driver.execute_script(
                "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
            )
        except StaleElementReferenceException:
            return Missed("redrawn while scrolled to")
        try:
            element.click()
        except ElementClickInterceptedException as error:
            return Missed(error.msg)  # names the element that took the click
        except ElementNotInteractableException:  # redrawn by a poll just now: shown again soon
            return Missed(f"not interactable: {_shown_as(dash_duo, element)}")
        except StaleElementReferenceException:
            return Missed("redrawn while clicked")
        return True

    until(attempt, timeout=10, msg=f"click {selector}: not found, hidden or covered")


def _shown_as(dash_duo: Any, element: Any) -> str:
    """How an element that cannot be clicked is drawn: its box, and what hides it."""
    try:
        return dash_duo.driver.execute_script(
            "const e = arguments[0], r = e.getBoundingClientRect(), hidden = [];"
            "for (let p = e; p; p = p.parentElement) {"
            "  const s = getComputedStyle(p);"
            "  if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0')"
            "    hidden.push((p.id || p.tagName) + ' ' + s.display + '/' + s.visibility);"
            "}"
            "return `box ${Math.round(r.x)},${Math.round(r.y)} ${Math.round(r.width)}x`"
            " + `${Math.round(r.height)}, disabled ${e.disabled}, hidden by [${hidden}]`;",
            element,
        )
    except StaleElementReferenceException:
        return "redrawn meanwhile"


def in_view(dash_duo: Any, selector: str) -> bool:
    """Whether the element is inside the window as it is scrolled now."""
    element = dash_duo.find_element(selector)
    return dash_duo.driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;",
        element,
    )


def upload_csv(dash_duo: Any, path: Path, rows: int) -> None:
    """Choose ``path`` in the CSV tab and wait until the check says it can be predicted."""
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(path))
    dash_duo.wait_for_contains_text(f"#{Csv.UPLOAD_PROGRESS}", "Uploaded", timeout=60)
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", f"{rows:,} rows", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Ready to predict")


def progress_rows(dash_duo: Any, panel: str = "csv") -> int:
    """Rows done, as the job panel's progress line says now (0 before the first report and
    once the job has ended)."""
    label = dash_duo.driver.execute_script(  # one call: the poll redraws the line often
        "const line = document.querySelector(arguments[0]);return line ? line.textContent : '';",
        f"#{panel}-job-progress .job-progress-text",
    )
    return int(label.split(" / ")[0].replace(",", "")) if " / " in label else 0


def job_result(panel: str = "csv") -> str:
    """The selector of a job panel's result (what the server says became of the job)."""
    return f"#{panel}-job-result"


def cancel_job(dash_duo: Any, panel: str = "csv") -> None:
    """Press Cancel on the job the panel shows."""
    click(dash_duo, f"#{panel}-job-cancel")


def download_result(dash_duo: Any, filename: str, press: bool = True) -> Path:
    """Press Download (unless the download was started already) and wait until the browser
    has saved ``filename`` completely."""
    if press:
        click(dash_duo, f"#{Csv.DOWNLOAD_BUTTON}")
    folder = Path(dash_duo.download_path)
    target = folder / filename
    until(lambda: target.exists() and not list(folder.glob("*.crdownload")), timeout=60)
    return target


def css_of(component_id: object) -> str:
    """A CSS selector for a component, pattern-matching IDs included (Dash writes those as
    JSON, keys sorted, in the element's id)."""
    if isinstance(component_id, dict):
        text = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
        return f"[id='{text}']"
    return f"#{component_id}"


def evaluate_labelled_iris(dash_duo: Any, tmp_path: Path) -> None:
    """The CSV tab's Evaluate: the iris file with its species, Champion against
    Challenger, until the verdict is on screen."""
    source = tmp_path / "iris_labeled.csv"
    X, y = _iris_data()
    X.assign(species=y).to_csv(source, index=False)
    open_tab(dash_duo, "CSV Prediction")
    upload_csv(dash_duo, source, 150)
    dash_duo.wait_for_contains_text(f"#{CSV_SECTION.label}", "species", timeout=30)
    dash_duo.wait_for_contains_text(f"#{CSV_SECTION.refs}", "Challenger")
    click(dash_duo, f"#{CSV_SECTION.run}")
    dash_duo.wait_for_contains_text(
        job_result(CSV_SECTION.name),
        "Challenger is right on 0 rows where Champion is wrong",
        timeout=90,
    )


# Dash's requests whose body names ``marker`` wait until the test releases them, so what the
# person sees meanwhile can be checked however busy the machine is; every other request goes.
_HOLD_REQUESTS = """
const marker = arguments[0];
const send = window.fetch;
window.heldRequests = 0;
let release;
const released = new Promise((done) => { release = done; });
window.releaseHeldRequests = () => release();
window.fetch = function (url, options) {
  const body = options && typeof options.body === "string" ? options.body : "";
  if (!body.includes(marker)) { return send.apply(this, [url, options]); }
  window.heldRequests += 1;
  return released.then(() => send.apply(this, [url, options]));
};
"""


def hold_requests(dash_duo: Any, marker: str) -> None:
    """From now on, hold the page's requests that mention ``marker`` (see release_held)."""
    dash_duo.driver.execute_script(_HOLD_REQUESTS, marker)


def held_requests(dash_duo: Any) -> int:
    return dash_duo.driver.execute_script("return window.heldRequests || 0")


def release_held(dash_duo: Any) -> None:
    dash_duo.driver.execute_script("window.releaseHeldRequests()")
