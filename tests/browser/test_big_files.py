"""Big CSV files in headless Chromium: streamed upload, background scoring with progress,
cancel, and the downloaded result checked against in-process predictions."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layouts.csv_tab import PANEL as CSV_PANEL
from layouts.ids import Config, Csv, History, Page
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.browser_helpers import (
    CSV_RESULT,
    cancel_job,
    click,
    download_result,
    in_view,
    open_tab,
    progress_rows,
    screenshot,
    start_console,
    upload_csv,
)
from tests.processes import job_processes
from tests.waiting import until

pytestmark = pytest.mark.browser

ROWS = 300_000
CHUNK = 5_000  # small chunks: many progress steps to watch


@pytest.fixture
def churn_console(dash_duo, settings, tmp_path):
    data_dir = tmp_path / "data"
    start_console(
        dash_duo,
        settings,
        default_model=CHURN_MODEL,
        default_version="Champion",
        predict_chunk_rows=CHUNK,
        app_data_dir=data_dir,
    )
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    open_tab(dash_duo, "CSV Prediction")
    return dash_duo, data_dir


def _customers(path: Path, rows: int) -> pd.DataFrame:
    frame = churn_frame(rows, seed=17)
    frame.insert(0, "customer_id", np.arange(rows))
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.screenshots
def test_big_file_scored_in_the_background_and_downloaded(churn_console, services, tmp_path):
    dash_duo, _ = churn_console
    source = tmp_path / "customers_big.csv"
    customers = _customers(source, ROWS)
    upload_csv(dash_duo, source, ROWS)
    click(dash_duo, f"#{Csv.PREDICT}")
    first = until(lambda: progress_rows(dash_duo), timeout=60)
    until(lambda: progress_rows(dash_duo) > first, timeout=60)  # it advances
    screenshot(dash_duo, "csv-scoring-in-progress", docs=True)
    dash_duo.wait_for_contains_text(CSV_RESULT, f"{ROWS:,} rows scored", timeout=120)
    dash_duo.wait_for_element(f"#{Csv.DOWNLOAD_BUTTON}.btn-success")
    result = pd.read_csv(download_result(dash_duo, "customers_big_with_predictions.csv"))
    assert len(result) == ROWS
    assert list(result.columns) == [*customers.columns, "prediction", "prediction_label", "error"]
    assert result["customer_id"].tolist() == customers["customer_id"].tolist()
    _, model = services.scoring.loader.load(LOCAL_CALLER, CHURN_MODEL, "Champion")
    expected = np.asarray(model.pyfunc.predict(customers.drop(columns=["customer_id"])))
    assert (result["prediction"].to_numpy() == expected).all()
    assert dash_duo.get_logs() == []


def _scoring_underway(dash_duo, path: Path) -> None:
    """A file of ROWS customers uploaded, Predict pressed, the first progress shown; the
    buttons and the bar in view (the window is 1400×1000), the header saying a job runs."""
    _customers(path, ROWS)
    upload_csv(dash_duo, path, ROWS)
    assert in_view(dash_duo, f"#{Csv.PREDICT}"), "Predict is below the fold after an upload"
    click(dash_duo, f"#{Csv.PREDICT}")
    until(lambda: progress_rows(dash_duo) > 0, timeout=60)
    dash_duo.wait_for_contains_text(f"#{Page.JOB}", "1 job running")
    for selector in (f"#{CSV_PANEL.cancel}", f"#{CSV_PANEL.progress}"):
        assert in_view(dash_duo, selector), f"{selector} is off-screen while the job runs"


def test_cancel_stops_the_job_and_offers_no_download(churn_console, tmp_path):
    dash_duo, data_dir = churn_console
    _scoring_underway(dash_duo, tmp_path / "customers_cancel.csv")
    cancel_job(dash_duo)
    dash_duo.wait_for_contains_text(CSV_RESULT, "Cancelled: nothing was published", timeout=30)
    until(lambda: not dash_duo.find_element(f"#{CSV_PANEL.live}").is_displayed(), timeout=10)
    assert "rows scored" not in dash_duo.find_element(CSV_RESULT).text
    assert not dash_duo.find_elements(f"#{Csv.DOWNLOAD_BUTTON}")
    results = list((data_dir / "files").glob("*/*.data"))
    assert len(results) == 1  # only the upload: no finished result file exists
    assert list((data_dir / "files").glob("*/*.partial")) == []  # nor an unfinished one
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "Scoring cancelled")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "customers_cancel.csv · csv")
    assert dash_duo.get_logs() == []


def test_a_job_killed_from_outside_ends_in_a_clear_failure(churn_console, tmp_path):
    """What an out-of-memory kill looks like: SIGKILL, so the job cannot say anything."""
    dash_duo, data_dir = churn_console
    _scoring_underway(dash_duo, tmp_path / "customers_killed.csv")
    jobs = job_processes()
    assert jobs, "the scoring job should be running in a process of its own"
    for job in jobs:
        job.send_signal(signal.SIGKILL)

    dash_duo.wait_for_contains_text(CSV_RESULT, "stopped before it finished", timeout=30)
    screenshot(dash_duo, "csv-job-killed")
    open_tab(dash_duo, "Prediction History")
    dash_duo.wait_for_contains_text(f"#{History.JOBS}", "Scoring failed")
    open_tab(dash_duo, "CSV Prediction")
    assert not dash_duo.find_element(f"#{CSV_PANEL.live}").is_displayed()
    assert not dash_duo.find_elements(f"#{Csv.DOWNLOAD_BUTTON}")
    assert list((data_dir / "files").glob("*/*.data")) == [next(data_dir.glob("files/*/*.data"))]

    # Nothing is lost: the same file goes through on the next press.
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(CSV_RESULT, f"{ROWS:,} rows scored", timeout=120)
    dash_duo.wait_for_element(f"#{Csv.DOWNLOAD_BUTTON}.btn-success")
    assert dash_duo.get_logs() == []


def test_parquet_result_keeps_types_and_values(churn_console, services, tmp_path):
    dash_duo, _ = churn_console
    rows = 20_000
    source = tmp_path / "customers_typed.csv"
    customers = _customers(source, rows)
    upload_csv(dash_duo, source, rows)
    click(dash_duo, f"#{Csv.RESULT_FORMAT} input[value='parquet']")
    click(dash_duo, f"#{Csv.PREDICT}")
    dash_duo.wait_for_contains_text(
        CSV_RESULT, "customers_typed_with_predictions.parquet", timeout=120
    )
    screenshot(dash_duo, "csv-parquet-result")
    table = pq.read_table(download_result(dash_duo, "customers_typed_with_predictions.parquet"))
    assert table.num_rows == rows
    assert table.schema.field("customer_id").type == pa.string()  # kept exactly as uploaded
    assert table.schema.field("age").type == pa.int64()
    _, model = services.scoring.loader.load(LOCAL_CALLER, CHURN_MODEL, "Champion")
    expected = np.asarray(model.pyfunc.predict(customers.drop(columns=["customer_id"])))
    assert (table.column("prediction").to_numpy() == expected).all()
    assert dash_duo.get_logs() == []
