"""What a person starts lives on the server: a job survives a reload and shows on another
device, where it can be cancelled; a link reopens the model, version, tab and job it showed;
every tab lists the runs of the others; an alias that moves is noticed.

Two browsers are two people's devices (separate storage and cookies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options

from layouts.csv_tab import PANEL as CSV_PANEL
from layouts.features.compare import FILE_PANEL
from layouts.features.table_panel import PANEL as TABLE_PANEL
from layouts.ids import Compare, Config, Csv, History, Json, Page, Table
from services.registry.demo import IRIS_FEATURES, IRIS_MODEL, churn_frame
from tests.browser_helpers import (
    CSV_RESULT,
    cancel_job,
    click,
    download_result,
    held_requests,
    hold_requests,
    load_model,
    open_tab,
    progress_rows,
    release_held,
    screenshot,
    start_console,
    start_spark_console,
    upload_csv,
)
from tests.code_models import fresh_registry, register_code_model
from tests.conftest import (
    CHROMIUM_ARGUMENTS,
    SETOSA,
    VIRGINICA,
    auth,
    basic_header,
    free_port,
    mlflow_basic_settings,
    settings_for,
)
from tests.waiting import until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHUNK = 1_000  # many chunks: a job that can be held after its first
GATED_MODEL = "main.ml_models.gated_churn"
ROWS = 20_000
GATED = """
import time
from pathlib import Path

import mlflow

HOLD, SEEN = Path(HOLD_PATH), Path(SEEN_PATH)


class Gated(mlflow.pyfunc.PythonModel):
    \"\"\"A churn rule whose calls after the first wait while the test holds them (while its
    file exists): a job stays running, its first chunk done, until the test lets it go,
    however busy the machine.\"\"\"

    def predict(self, context, model_input, params=None):
        if SEEN.exists():
            held_since = time.monotonic()
            while HOLD.exists() and time.monotonic() - held_since < 120:
                time.sleep(0.05)
        SEEN.touch()
        return (model_input["tenure_months"] < 12).astype("int64")


mlflow.models.set_model(Gated())
"""


class Gate:
    """The gated model's two files: held, a job passes its first chunk and waits."""

    def __init__(self, folder: Path) -> None:
        self.hold, self.seen = folder / "hold", folder / "seen"

    def model_code(self) -> str:
        return GATED.replace("HOLD_PATH", repr(str(self.hold))).replace(
            "SEEN_PATH", repr(str(self.seen))
        )

    def close(self) -> None:
        """The next job's first chunk passes; the rest wait until ``open``."""
        self.seen.unlink(missing_ok=True)
        self.hold.touch()

    def open(self) -> None:
        self.hold.unlink(missing_ok=True)


@pytest.fixture
def gate(tmp_path) -> Iterator[Gate]:
    """Open again whatever happens: a failed test leaves no job waiting on it."""
    opened = Gate(tmp_path)
    try:
        yield opened
    finally:
        opened.open()


def active_tab(dash_duo) -> str:
    return dash_duo.find_element(".nav-tabs .nav-link.active").text


def cancel_asked(server_url: str) -> bool:
    listed = requests.get(f"{server_url}/api/jobs", timeout=10).json()["jobs"]
    return any(job["cancel_requested"] for job in listed)


@pytest.fixture
def other_device() -> Iterator[webdriver.Chrome]:
    """A second browser: its own storage and cookies, like another computer."""
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", *CHROMIUM_ARGUMENTS):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options)
    try:
        yield driver
    finally:
        driver.quit()


def text_of(driver: webdriver.Chrome, selector: str) -> str:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", selector
    )


def press(driver: webdriver.Chrome, selector: str) -> None:
    driver.execute_script("document.querySelector(arguments[0]).click()", selector)


def customers(path: Path, rows: int) -> pd.DataFrame:
    frame = churn_frame(rows, seed=11)
    frame.insert(0, "customer_id", np.arange(rows))
    frame.to_csv(path, index=False)
    return frame


def test_a_csv_job_survives_a_reload_and_is_seen_and_cancelled_on_another_device(
    dash_duo, tmp_path, other_device, gate
):
    data_dir = tmp_path / "data"
    with fresh_registry(tmp_path / "registry") as registry:
        version = register_code_model(registry, GATED_MODEL, gate.model_code())
    start_console(
        dash_duo,
        settings_for(tmp_path / "registry"),
        default_model=GATED_MODEL,
        default_version=version,
        app_data_dir=data_dir,
        predict_chunk_rows=CHUNK,
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {GATED_MODEL}")
    open_tab(dash_duo, "CSV Prediction")
    source = tmp_path / "churn_big.csv"
    frame = customers(source, ROWS)
    upload_csv(dash_duo, source, ROWS)
    gate.close()
    click(dash_duo, f"#{Csv.PREDICT}")
    until(lambda: "job=" in dash_duo.driver.current_url, timeout=30)
    dash_duo.driver.refresh()  # at once: the page forgets everything; the server does not
    until(lambda: progress_rows(dash_duo) > 0, timeout=60)
    assert "churn_big.csv" in dash_duo.find_element(f"#{CSV_PANEL.title}").text
    dash_duo.wait_for_contains_text(f"#{Page.JOB}", "1 job running")
    screenshot(dash_duo, "job-after-reload")

    # Another device, same person: the running job, with Cancel; cancelled from there.
    other_device.get(f"{dash_duo.server_url}/?tab=history")
    until(lambda: "running" in text_of(other_device, f"#{History.JOBS}"), timeout=30)
    assert "churn_big.csv · csv" in text_of(other_device, f"#{History.JOBS}")
    press(other_device, f"#{History.JOBS} button.text-danger")
    until(lambda: cancel_asked(dash_duo.server_url), timeout=30)
    gate.open()
    dash_duo.wait_for_contains_text(CSV_RESULT, "Cancelled: nothing was published", timeout=30)
    assert not list((data_dir / "files").glob("*/*.partial"))
    assert len(list((data_dir / "files").glob("*/*.data"))) == 1  # the upload alone

    # Started again: the other device sees it without reloading, and the result downloads.
    gate.close()
    click(dash_duo, f"#{Csv.PREDICT}")
    until(lambda: "Scoring running" in text_of(other_device, f"#{History.JOBS}"), timeout=30)
    gate.open()
    dash_duo.wait_for_contains_text(CSV_RESULT, f"{ROWS:,} rows scored", timeout=180)
    result = pd.read_csv(download_result(dash_duo, "churn_big_with_predictions.csv"))
    assert result["customer_id"].tolist() == frame["customer_id"].tolist()
    listed = requests.get(f"{dash_duo.server_url}/api/jobs", timeout=10).json()["jobs"]
    assert [(j["origin"], j["state"]) for j in listed] == [
        ("csv", "succeeded"),
        ("csv", "cancelled"),
    ]
    until(lambda: "succeeded" in text_of(other_device, f"#{History.JOBS}"), timeout=30)
    assert dash_duo.get_logs() == []


def test_a_compare_job_has_progress_cancel_and_a_result_after_a_reload(
    dash_duo, settings, tmp_path
):
    start_console(
        dash_duo,
        settings,
        default_model=IRIS_MODEL,
        default_version="Champion",
        app_data_dir=tmp_path / "data",
        predict_chunk_rows=CHUNK,
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    open_tab(dash_duo, "CSV Prediction")
    source = tmp_path / "flowers.csv"
    rows = 150_000
    flowers = pd.DataFrame(
        np.random.default_rng(8).uniform(0.1, 7.5, size=(rows, 4)), columns=IRIS_FEATURES
    )
    flowers.to_csv(source, index=False)
    upload_csv(dash_duo, source, rows)
    dash_duo.wait_for_contains_text(f"#{Compare.CSV_WITH}", "@Challenger (version 2)")
    dash_duo.driver.execute_script(f"document.getElementById('{Compare.CSV_RUN}').click()")
    until(lambda: progress_rows(dash_duo, FILE_PANEL.name) > 0, timeout=60)
    dash_duo.driver.refresh()
    until(lambda: progress_rows(dash_duo, FILE_PANEL.name) > 0, timeout=60)
    assert "Comparing" in dash_duo.find_element(f"#{FILE_PANEL.title}").text
    cancel_job(dash_duo, FILE_PANEL.name)
    dash_duo.wait_for_contains_text(f"#{FILE_PANEL.result}", "Cancelled", timeout=30)

    dash_duo.driver.execute_script(f"document.getElementById('{Compare.CSV_RUN}').click()")
    dash_duo.wait_for_contains_text(f"#{FILE_PANEL.result}", "agree", timeout=180)
    assert "Download flowers_compared.csv" in dash_duo.find_element(f"#{FILE_PANEL.result}").text
    assert f"on {rows:,} rows" in dash_duo.find_element(f"#{FILE_PANEL.result}").text
    assert dash_duo.get_logs() == []


def test_a_spark_job_survives_a_reload_and_is_cancelled_from_another_device(
    dash_duo, settings, spark_server, tmp_path, other_device
):
    shared = tmp_path / "shared"
    parts = shared / "iris"
    parts.mkdir(parents=True)
    generator = np.random.default_rng(2)
    for number in range(40):
        pd.DataFrame(
            generator.uniform(0.1, 7.5, size=(50_000, 4)), columns=IRIS_FEATURES
        ).to_parquet(parts / f"part-{number:03}.parquet")
    start_spark_console(dash_duo, settings, spark_server.url, shared)
    dash_duo.find_element(f"#{Table.SOURCE}").send_keys(str(parts))
    dash_duo.find_element(f"#{Table.DESTINATION}").send_keys(str(shared / "out") + "\t")
    dash_duo.driver.execute_script(f"document.getElementById('{Table.START}').click()")
    dash_duo.wait_for_contains_text(f"#{TABLE_PANEL.title}", "Scoring", timeout=60)
    dash_duo.driver.refresh()
    dash_duo.wait_for_contains_text(f"#{TABLE_PANEL.progress}", "parts", timeout=240)
    other_device.get(f"{dash_duo.server_url}/?tab=history")
    until(lambda: "running" in text_of(other_device, f"#{History.JOBS}"), timeout=30)
    press(other_device, f"#{History.JOBS} button.text-danger")
    dash_duo.wait_for_contains_text(
        f"#{TABLE_PANEL.result}", "Cancelled: nothing was published", timeout=60
    )
    assert not (shared / "out").exists()
    assert dash_duo.get_logs() == []


def test_a_link_reopens_the_model_version_and_tab_and_back_goes_back(dash_duo, settings, tmp_path):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    load_model(dash_duo, IRIS_MODEL, "2")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "version 2")
    open_tab(dash_duo, "JSON Prediction")
    click(dash_duo, f"#{Page.COPY_LINK}")
    until(
        lambda: "Copied" in dash_duo.find_element(f"#{Page.COPY_LINK}").get_attribute("title"),
        timeout=10,
    )
    link = dash_duo.find_element(f"#{Page.COPY_LINK}").get_attribute("title").split(": ", 1)[1]
    assert "model=main.ml_models.iris_classifier" in link and "version=2" in link
    assert "tab=json" in link

    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.execute_script("window.sessionStorage.clear()")
    dash_duo.driver.switch_to.new_window("window")  # a fresh session opens the link
    dash_duo.driver.get(link)
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    dash_duo.wait_for_element(f"#{Json.TEXT}")
    assert active_tab(dash_duo) == "JSON Prediction"
    assert "is not loaded" not in dash_duo.find_element(f"#{Config.PENDING}").text

    # The tabs opened are written to the URL and never read back as if it were a link (read
    # late, on a busy server, it took the page back to a tab already left); back is read,
    # and a reload keeps the model and tab, without a contradiction.
    hold_requests(dash_duo, f"{Config.STATUS}.children")  # the requests that follow a URL
    open_tab(dash_duo, "CSV Prediction")
    until(lambda: "tab=csv" in dash_duo.driver.current_url, timeout=10)
    open_tab(dash_duo, "Prediction History")
    until(lambda: "tab=history" in dash_duo.driver.current_url, timeout=10)
    assert held_requests(dash_duo) == 0
    dash_duo.driver.back()
    until(lambda: held_requests(dash_duo) == 1, timeout=10)
    # the tab opens at once; the model the URL names follows
    until(lambda: active_tab(dash_duo) == "CSV Prediction", timeout=10)
    release_held(dash_duo)
    dash_duo.driver.back()
    until(lambda: active_tab(dash_duo) == "JSON Prediction", timeout=10)
    dash_duo.driver.refresh()
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    assert active_tab(dash_duo) == "JSON Prediction"
    open_tab(dash_duo, "Model Configuration")
    until(lambda: "tab=config" in dash_duo.driver.current_url, timeout=10)  # it still follows
    dash_duo.driver.refresh()  # on the tab the page opens on: it shows the URL already
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    open_tab(dash_duo, "JSON Prediction")
    until(lambda: "tab=json" in dash_duo.driver.current_url, timeout=10)  # and still follows
    open_tab(dash_duo, "Model Configuration")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "version 2")
    assert dash_duo.find_element(f"#{Config.PENDING}").text == ""
    click(dash_duo, f"#{Config.LOAD}")  # Load again keeps version 2, not "latest"
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "Loaded main.ml_models.iris_classifier")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2")
    assert dash_duo.get_logs() == []


def test_a_link_under_a_prefix_carries_the_prefix(dash_duo, settings):
    from flask import Flask

    from app import create_app

    host = Flask("host")
    app = create_app(host, url_base_pathname="/console/", settings=settings)
    dash_duo.start_server(app, navigate=False, port=free_port())
    dash_duo.driver.get(f"{dash_duo.server.url}/console/?tab=help&version=1&model={IRIS_MODEL}")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v1")
    until(lambda: "/console/?model=" in dash_duo.driver.current_url, timeout=10)
    assert active_tab(dash_duo) == "Help"


def test_a_job_link_opens_for_its_owner_and_is_not_found_for_anyone_else(
    dash_duo, auth_server, tmp_path, other_device
):
    """mlflow-basic against the real auth server: alice's job, opened by alice and by bob."""
    settings = mlflow_basic_settings(auth_server, tmp_path)
    from app import create_app

    app = create_app(settings=settings)
    dash_duo.start_server(app, navigate=False, port=free_port())
    base = dash_duo.server.url
    alice = auth(auth_server, "alice")
    flowers = pd.DataFrame([SETOSA, VIRGINICA] * 50)
    upload = requests.post(
        f"{base}/api/uploads?filename=flowers.csv",
        data=flowers.to_csv(index=False),
        headers={**alice, "Content-Type": "text/csv"},
        timeout=30,
    ).json()
    model = auth_server.models["X"]
    job = requests.post(
        f"{base}/api/models/{model}/Champion/jobs",
        json={"source": f"upload:{upload['file_id']}", "format": "csv"},
        headers=alice,
        timeout=60,
    ).json()
    link = f"{base}/?job={job['job_id']}"

    for driver, user in ((dash_duo.driver, "alice"), (other_device, "bob")):
        credentials = basic_header(user, auth_server.passwords[user])
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": credentials})
    dash_duo.server_url = base  # dash_duo opens the console's page itself first
    for driver in (dash_duo.driver, other_device):
        driver.get(link)
    dash_duo.wait_for_contains_text(CSV_RESULT, "flowers.csv: 100 rows scored", timeout=60)
    assert active_tab(dash_duo) == "CSV Prediction"
    until(lambda: "There is no job with that id" in text_of(other_device, CSV_RESULT), 30)
    assert "flowers" not in text_of(other_device, "body")
    screenshot(dash_duo, "job-link-owner")


def test_two_tabs_predicting_at_once_lose_no_history(dash_duo, settings):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    first = dash_duo.driver.current_window_handle
    dash_duo.driver.switch_to.new_window("tab")
    dash_duo.driver.get(f"{dash_duo.server_url}/?model={IRIS_MODEL}&version=1&tab=json")
    second = dash_duo.driver.current_window_handle
    for handle in (first, second):
        dash_duo.driver.switch_to.window(handle)
        open_tab(dash_duo, "JSON Prediction")
        dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    rounds = 3
    for _ in range(rounds):  # both tabs press Predict without waiting for the other
        for handle in (first, second):
            dash_duo.driver.switch_to.window(handle)
            dash_duo.driver.execute_script(f"document.getElementById('{Json.PREDICT}').click()")
    for handle in (first, second):
        dash_duo.driver.switch_to.window(handle)
        open_tab(dash_duo, "Prediction History")
        until(  # each tab lists the server's runs: the other tab's too
            lambda: len(dash_duo.find_elements(f"#{History.LIST} tbody tr")) == 2 * rounds,
            timeout=30,
        )
    assert dash_duo.get_logs() == []


def test_an_alias_moved_outside_the_console_is_noticed(
    dash_duo, settings, mlflow_client, restore_iris_aliases
):
    start_console(
        dash_duo,
        settings,
        default_model=IRIS_MODEL,
        default_version="Champion",
        alias_cache_seconds=2,
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", "version 1")
    mlflow_client.set_registered_model_alias(IRIS_MODEL, "Champion", "2")
    dash_duo.wait_for_contains_text(
        f"#{Page.ALIAS_NOTICE}",
        "Champion now points to version 2; you are using version 1",
        timeout=30,
    )
    dash_duo.find_element(f"#{Config.VERSION}").click()
    dash_duo.wait_for_contains_text(".dash-dropdown-options", "Champion → version 2", timeout=10)
    dash_duo.find_element(f"#{Page.ALIAS_NOTICE}").click()  # close the dropdown
    click(dash_duo, f"#{Page.SWITCH_VERSION}")
    dash_duo.wait_for_contains_text(f"#{Page.HEADER_MODEL}", "v2", timeout=30)
    until(lambda: dash_duo.find_element(f"#{Page.ALIAS_NOTICE}").text == "", timeout=30)
    assert json.loads(json.dumps(dash_duo.get_logs())) == []
