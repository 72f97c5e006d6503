"""A big CSV through the UI, as a person would send it: headless Chromium uploads the file in
the CSV tab, presses Predict from CSV, watches the progress line, downloads the result; the
download is checked against in-process predictions on every 1000th row.

    .venv/bin/python bench/ui_big.py [--rows 10000000] [--format csv|parquet] [--celery]

The baseline, measured in the same run on the same file: the model in one process (pyarrow
read, predict, pyarrow write), as in bench/big.py.

``--celery`` runs the job in a Celery worker behind a Redis server (both started here; Debian's
redis-server must be installed), as with REDIS_URL in production; otherwise the job is a
process forked by the web worker. The console runs as ``python app.py`` (gunicorn, 2 workers)
on a throw-away $APP_DATA_DIR. Everything started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from bigcsv import ID_COLUMN, raw_pipeline, write_iris_csv
from report import text_table
from run import (
    ALIAS,
    OUT_DIR,
    ROOT,
    champion_files,
    project_on_path,
    seed_registry,
    stop_on_sigterm,
)
from selenium import webdriver
from selenium.webdriver.common.by import By
from servers import Server, child_env, free_port, start_server, wait_ready

SAMPLE_EVERY = 1000
POLL_S = 0.25
TIMEOUT_S = 3600.0


@dataclass
class UiRun:
    rows: int
    file_mb: float
    upload_check_s: float = 0.0
    score_s: float = 0.0
    download_s: float = 0.0
    result_mb: float = 0.0
    readings: list[str] = field(default_factory=list)
    check: str = ""
    in_process_s: float = 0.0  # the baseline: the same file read, predicted, written in one process

    @property
    def total_s(self) -> float:
        return self.upload_check_s + self.score_s + self.download_s


def browser(download_dir: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-background-networking",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(download_dir), "download.prompt_for_download": False},
    )
    return webdriver.Chrome(options=options)


def wait_for(condition, what: str, timeout: float = TIMEOUT_S):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if found := condition():
            return found
        time.sleep(POLL_S)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    with contextlib.suppress(Exception):
        return driver.find_element(By.ID, element_id).text
    return ""


def click(driver: webdriver.Chrome, css: str) -> None:
    element = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element
    )


def through_the_ui(
    driver: webdriver.Chrome,
    server: Server,
    source: Path,
    run: UiRun,
    result_format: str,
    downloads: Path,
) -> Path:
    from layouts.csv_tab import PANEL
    from layouts.ids import Config, Csv

    driver.get(server.base_url)
    wait_for(lambda: "Loaded" in text_of(driver, Config.STATUS), "the demo model loads", 120)
    tab = next(
        a for a in driver.find_elements(By.CSS_SELECTOR, ".nav-link") if a.text == "CSV Prediction"
    )
    tab.click()
    click(driver, f"#{Csv.RESULT_FORMAT} input[value='{result_format}']")

    started = time.monotonic()
    driver.find_element(By.ID, Csv.FILE_INPUT).send_keys(str(source))
    wait_for(lambda: "Ready to predict" in text_of(driver, Csv.PREVIEW), "upload and check")
    run.upload_check_s = time.monotonic() - started

    started = time.monotonic()
    click(driver, f"#{Csv.PREDICT}")

    def scored() -> bool:
        label = text_of(driver, PANEL.progress)
        if " / " in label and (not run.readings or run.readings[-1] != label):
            run.readings.append(label)
        result = text_of(driver, PANEL.result)
        if "stopped" in result or "failed" in result.lower():
            raise RuntimeError(f"the job failed: {result}")
        return "rows scored" in result

    wait_for(scored, "scoring")
    run.score_s = time.monotonic() - started

    started = time.monotonic()
    click(driver, f"#{Csv.DOWNLOAD_BUTTON}")  # in the result, once the job has one
    target = downloads / f"{source.stem}_with_predictions.{result_format}"
    wait_for(lambda: target.exists() and not list(downloads.glob("*.crdownload")), "the download")
    run.download_s = time.monotonic() - started
    run.result_mb = target.stat().st_size / 1e6
    return target


def check(result: Path, source: Path, rows: int, features: list[str], model: Any) -> str:
    """Row count, ids 1..N in order, and every 1000th prediction equal to in-process."""
    if result.suffix == ".parquet":
        table = pq.read_table(result, columns=[ID_COLUMN, "prediction"])
    else:
        options = pacsv.ConvertOptions(include_columns=[ID_COLUMN, "prediction"])
        table = pacsv.read_csv(result, convert_options=options)
    if table.num_rows != rows:
        return f"FAIL: {table.num_rows:,} rows, {rows:,} expected"
    ids = np.asarray(table[ID_COLUMN].to_numpy(), dtype=np.int64)
    if not np.array_equal(ids, np.arange(1, rows + 1)):
        return "FAIL: ids are not 1..N in order"
    sample = np.arange(0, rows, SAMPLE_EVERY)
    source_rows = pacsv.read_csv(source).take(sample).select(features).to_pandas()
    expected = np.asarray(model.predict(source_rows)).ravel()
    got = table["prediction"].to_numpy()[sample]
    differ = int((got != expected.astype(got.dtype)).sum())
    if differ:
        return f"FAIL: {differ:,} of {len(sample):,} sampled predictions differ"
    return f"PASS: {rows:,} rows in order, {len(sample):,} sampled predictions as in-process"


def start_celery(stack: contextlib.ExitStack, env: dict[str, str]) -> dict[str, str]:
    """A Redis server and one Celery worker (2 processes); the REDIS_URL the console needs."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("--celery needs Debian's redis-server (apt-get install -y redis-server)")
    port = free_port()
    start_server(
        stack,
        "redis",
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        port=port,
        env=env,
        cwd=ROOT,
        log_dir=OUT_DIR,
    )
    redis_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    worker = start_server(
        stack,
        "celery",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app:celery_app",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
        port=port,
        env=redis_env,
        cwd=ROOT,
        log_dir=OUT_DIR,
    )
    wait_for(lambda: " ready." in worker.log_path.read_text(errors="replace"), "celery worker", 120)
    return redis_env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--celery", action="store_true", help="jobs in a Celery worker (Redis)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack, project_on_path():
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ui-big-")))
        data_dir, downloads = work / "data", work / "downloads"
        downloads.mkdir()
        tracking_uri = seed_registry(data_dir)
        from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

        source = work / "iris_big.csv"
        size = write_iris_csv(source, args.rows, list(IRIS_FEATURES))
        run = UiRun(rows=args.rows, file_mb=size / 1e6)
        print(f"{args.rows:,}-row CSV: {run.file_mb:.0f} MB")
        env = child_env(APP_DATA_DIR=str(data_dir), WEB_CONCURRENCY="2")
        if args.celery:
            env = start_celery(stack, env)
        port = free_port()
        command = [sys.executable, "app.py"]
        env["PORT"] = str(port)
        server = start_server(
            stack, "console", command, port=port, env=env, cwd=ROOT, log_dir=OUT_DIR
        )
        wait_ready(server, "/api/health")
        driver = browser(downloads)
        stack.callback(driver.quit)
        result = through_the_ui(driver, server, source, run, args.format, downloads)
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(str(champion_files(tracking_uri, IRIS_MODEL)))
        run.check = check(result, source, args.rows, list(IRIS_FEATURES), model)
        result.unlink()  # room on disk for the baseline's result
        baseline, _ = raw_pipeline(model, source, work / "in_process.csv", list(IRIS_FEATURES))
        run.in_process_s = baseline.total_s
        report(run, args, ALIAS)
    return 0 if run.check.startswith("PASS") else 1


def report(run: UiRun, args: argparse.Namespace, alias: str) -> None:
    where = "a Celery worker (Redis)" if args.celery else "a process forked by the web worker"
    print(f"\n{run.rows:,} rows through the UI (iris @{alias}, {args.format}, job in {where})")
    steps = [
        ["upload + check", run.upload_check_s],
        ["scoring: Predict pressed → 'rows scored' shown", run.score_s],
        [f"download, {run.result_mb:.0f} MB", run.download_s],
        ["through the UI, all steps", run.total_s],
        ["in-process baseline: pyarrow read, predict, pyarrow write", run.in_process_s],
    ]
    print(text_table([[step, f"{seconds:.1f}"] for step, seconds in steps], ["step", "s"]))
    print(f"file: {run.file_mb:.0f} MB CSV; UI / in-process: {run.total_s / run.in_process_s:.2f}x")
    print(f"progress readings seen: {len(run.readings)}")
    for label in (
        [*run.readings[:2], "…", *run.readings[-2:]] if len(run.readings) > 4 else run.readings
    ):
        print(f"  {label}")
    print(f"check: {run.check}")


if __name__ == "__main__":
    sys.exit(main())
