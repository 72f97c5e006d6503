"""Tables on Spark: 10M rows Parquet → Parquet on Spark vs the local engine in the same run,
then 100M rows on Spark to completion with the console's own memory sampled all along.

    nice -n 19 .venv/bin/python bench/spark.py [--rows 10000000] [--big-rows 100000000]
                                               [--remote sc://127.0.0.1:15002] [--write-results]

Starts a Spark Connect server (``local[2]``, 127.0.0.1 only, as tests/spark_server.py does)
and the console (``python app.py``, fresh APP_DATA_DIR, embedded demo registry,
SPARK_REMOTE at that server, SPARK_ALLOWED_LOCATIONS = a temporary folder). Every job goes
through the API (POST /api/models/<name>/<ref>/jobs, GET /api/jobs/<id> polled twice a
second). The local engine scores only uploaded files, so it gets the same rows as an
uploaded CSV (upload timed apart) with a Parquet result in the user's files; the in-process
baseline (no server: each Parquet part read, predicted by pyfunc, written) is timed too.
Both servers are stopped and the temporary folder removed whatever happens. ``--remote`` uses
a Spark Connect server already running on this machine (it must read and write this
machine's temporary folder) instead of starting one. The exit code is 1 when a job failed or
a result was wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import requests
from cold_start import first_predict
from report import Section, mark, render_sections_markdown, render_sections_text, replace_section
from rss import MB, idle_rss, sampling_peak, tree_rss
from run import ALIAS, OUT_DIR, ROOT, project_on_path, stop_on_sigterm
from servers import Server, child_env, free_port, log_tail, start_server, wait_ready

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "Spark: 10M and 100M rows (bench/spark.py)"
ID = "row_id"
PART_ROWS = 1_000_000
BYTES_PER_ROW = 30  # id + 4 doubles of 4 decimals, snappy Parquet: about 13 (x2 for safety)
POLL_S = 0.5
JOB_TIMEOUT_S = 4 * 3600.0
SAMPLE_ROW_GROUPS = 4
SAMPLE_ROWS = 5000
GB = 1024 * MB


@dataclass
class JobRun:
    label: str
    rows: int
    state: str = "not run"
    wall_s: float = 0.0  # POST → finished state seen
    job_s: float = 0.0  # the job's own summary seconds
    readings: list[tuple[float, Any, Any, Any]] = field(default_factory=list)
    rss_idle: int = 0
    rss_peak: int = 0
    rss_min: int = 0
    rss_max: int = 0
    check: str = ""
    ok: bool = False
    extra: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0


# -- data ---------------------------------------------------------------------------------


def iris_part(rng: np.random.Generator, first_id: int, rows: int, features: list[str]):
    from sklearn.datasets import load_iris

    flowers = load_iris().data
    values = flowers[rng.integers(0, len(flowers), size=rows)]
    values = np.round(np.clip(values + rng.normal(0, 0.05, values.shape), 0.1, None), 4)
    columns = {ID: np.arange(first_id, first_id + rows, dtype=np.int64)}
    return pa.table(columns | {name: values[:, i] for i, name in enumerate(features)})


def write_parts(folder: Path, rows: int, features: list[str], seed: int) -> int:
    """``rows`` noisy iris flowers, ids 1..rows, one Parquet file per million: the bytes."""
    folder.mkdir(parents=True)
    rng, started = np.random.default_rng(seed), time.monotonic()
    for number, first in enumerate(range(0, rows, PART_ROWS)):
        part = iris_part(rng, first + 1, min(PART_ROWS, rows - first), features)
        pq.write_table(part, folder / f"part-{number:05d}.parquet")
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{rows:,} rows: {size / MB:,.0f} MB Parquet in {time.monotonic() - started:.0f} s")
    return size


def parts_to_csv(folder: Path, target: Path) -> int:
    parts = sorted(folder.iterdir())
    with pacsv.CSVWriter(target, pq.read_schema(parts[0])) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part))
    return target.stat().st_size


def in_process(model: Any, folder: Path, target: Path, features: list[str]) -> float:
    """The baseline without any server: part by part, read, pyfunc predict, write."""
    target.mkdir()
    started = time.monotonic()
    for part in sorted(folder.iterdir()):
        table = pq.read_table(part)
        predictions = np.asarray(model.predict(table.select(features).to_pandas())).ravel()
        pq.write_table(
            table.append_column("prediction", pa.array(predictions)),
            target / part.name,
            compression="zstd",
        )
    return time.monotonic() - started


def check(model: Any, path: Path, rows: int, features: list[str]) -> tuple[bool, str]:
    """Every id once (count and sum), and sampled row groups' predictions = in-process."""
    data = ds.dataset(path, format="parquet")
    count = data.count_rows()
    total = sum(
        pc.sum(pc.cast(b.column(0), pa.int64())).as_py() or 0 for b in data.to_batches(columns=[ID])
    )
    groups = [g for f in data.get_fragments() for g in f.split_by_row_group()]
    rng = np.random.default_rng(1)
    picked = rng.choice(len(groups), size=min(SAMPLE_ROW_GROUPS, len(groups)), replace=False)
    sample = pa.concat_tables([groups[i].to_table() for i in picked]).to_pandas()
    sample = sample.sample(n=min(SAMPLE_ROWS, len(sample)), random_state=1)
    same = int(
        (
            sample["prediction"].to_numpy() == np.asarray(model.predict(sample[features])).ravel()
        ).sum()
    )
    errors = int(sample["error"].notna().sum()) if "error" in sample else 0
    ok = count == rows and total == rows * (rows + 1) // 2 and same == len(sample) and not errors
    return ok, (
        f"{count:,} rows, ids {'1..n once' if total == rows * (rows + 1) // 2 else 'WRONG'}"
        f", {same:,}/{len(sample):,} sampled predictions = in-process, {errors} errors"
    )


# -- servers and the API ------------------------------------------------------------------


def start_spark(stack: contextlib.ExitStack, work: Path) -> str:
    import pyspark

    script = Path(pyspark.__file__).parent / "sbin" / "start-connect-server.sh"
    port, logs = free_port(), work / "spark-logs"
    env = child_env(
        SPARK_NO_DAEMONIZE="1",
        SPARK_HOME=str(script.parent.parent),
        SPARK_LOG_DIR=str(logs),
        SPARK_PID_DIR=str(work),
        PYSPARK_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    command = [
        "bash",
        str(script),
        "--master",
        "local[2]",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.sql.warehouse.dir={work / 'warehouse'}",
        "--conf",
        f"spark.driver.extraJavaOptions=-Dderby.system.home={work}",
    ]
    server = start_server(
        stack, "spark-connect", command, port=port, env=env, cwd=work, log_dir=OUT_DIR
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            if b"Spark Connect server started" in server.log_path.read_bytes():
                print(f"Spark Connect server at sc://127.0.0.1:{port}")
                return f"sc://127.0.0.1:{port}"
        time.sleep(0.5)
    raise RuntimeError(f"Spark Connect did not start:\n{log_tail(server)}")


def start_console(stack: contextlib.ExitStack, data: Path, remote: str, shared: Path) -> Server:
    port = free_port()
    env = child_env(
        PORT=str(port),
        APP_DATA_DIR=str(data),
        SPARK_REMOTE=remote,
        SPARK_ALLOWED_LOCATIONS=f"{shared}/",
    )
    server = start_server(
        stack,
        "spark-console",
        [sys.executable, "app.py"],
        port=port,
        env=env,
        cwd=ROOT,
        log_dir=OUT_DIR,
    )
    print(f"console ready in {wait_ready(server, '/api/health'):.1f} s at {server.base_url}")
    return server


def upload(base: str, path: Path) -> tuple[str, float]:
    started = time.monotonic()
    with path.open("rb") as body:
        answer = requests.post(
            f"{base}/api/uploads?filename={path.name}",
            data=body,
            headers={"Content-Type": "text/csv"},
            timeout=3600,
        )
    answer.raise_for_status()
    return answer.json()["file_id"], time.monotonic() - started


def run_job(console: Server, model: str, body: dict[str, str], job: JobRun) -> dict[str, Any]:
    """POST the job, poll it to its end; progress readings and the app tree's RSS meanwhile."""
    from services.jobs.record import FINISHED

    base, pid = console.base_url, console.process.pid
    job.rss_idle = idle_rss(pid, 3.0)
    timeline: list[int] = []
    with sampling_peak(pid) as sampler:
        started = time.monotonic()
        answer = requests.post(f"{base}/api/models/{model}/{ALIAS}/jobs", json=body, timeout=120)
        if answer.status_code != 202:
            raise RuntimeError(f"{job.label}: {answer.status_code} {answer.text[:500]}")
        job_id = answer.json()["job_id"]
        while time.monotonic() - started < JOB_TIMEOUT_S:
            state = requests.get(f"{base}/api/jobs/{job_id}", timeout=60).json()
            seconds, p = time.monotonic() - started, state.get("progress") or {}
            reading = (seconds, p.get("tasks_done"), p.get("tasks_total"), p.get("rows_done"))
            if not job.readings or reading[1:] != job.readings[-1][1:]:
                job.readings.append(reading)
                print(f"  {job.label}: " + " → ".join(describe(reading)), flush=True)
            timeline.append(tree_rss(pid))
            if state["state"] in FINISHED:  # a job waits queued before it runs
                break
            time.sleep(POLL_S)
        job.wall_s = time.monotonic() - started
    job.state, job.rss_peak = state["state"], sampler.peak
    job.rss_min, job.rss_max = min(timeline), max(timeline)
    job.job_s = float((state.get("summary") or {}).get("seconds") or 0.0)
    print(
        f"  {job.label}: {job.state} in {job.wall_s:.1f} s ({job.rate:,.0f} rows/s); app RSS "
        f"idle {job.rss_idle / MB:.0f} MB, peak {job.rss_peak / MB:.0f} MB"
        + (f"; error {state.get('error')}" if job.state != "succeeded" else "")
    )
    return state


def describe(reading: tuple[float, Any, Any, Any]) -> list[str]:
    seconds, done, total, rows = reading
    tasks = f"tasks {done}/{total}" if total else "tasks -"
    return [f"{seconds:.1f} s", f"{tasks}, rows {rows if rows is None else f'{rows:,}'}"]


def download(base: str, file_id: str, target: Path) -> None:
    with requests.get(f"{base}/api/files/{file_id}", stream=True, timeout=3600) as answer:
        answer.raise_for_status()
        with target.open("wb") as handle:
            for block in answer.iter_content(1024 * 1024):
                handle.write(block)


# -- the benchmark ------------------------------------------------------------------------


def fitting_rows(work: Path, rows: int, big: int) -> tuple[int, str]:
    """The big size, or the largest multiple of a part that fits in 80% of the free disk:
    input + output Parquet, plus the small run's input, CSV, three results."""
    free = shutil.disk_usage(work).free
    need = lambda n: 2.2 * n * BYTES_PER_ROW  # noqa: E731
    small = 5 * rows * BYTES_PER_ROW
    fits = int((0.8 * free - small) / (2.2 * BYTES_PER_ROW)) // PART_ROWS * PART_ROWS
    line = (
        f"free disk at {work}: {free / GB:.1f} GB; {big:,} rows need about {need(big) / GB:.1f} GB"
    )
    if fits >= big:
        return big, line
    return max(fits, PART_ROWS), line + f": NOT ENOUGH ROOM, ran {max(fits, PART_ROWS):,} rows"


def benchmark(args: argparse.Namespace, work: Path) -> tuple[list[JobRun], JobRun, list[str]]:
    import mlflow
    import mlflow.pyfunc

    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL
    from services.settings import embedded_tracking_uri

    features, notes = list(IRIS_FEATURES), []
    big_rows, disk = fitting_rows(work, args.rows, args.big_rows)
    print(disk)
    notes.append(disk)
    shared, data = work / "shared", work / "app-data"
    shared.mkdir()
    small_size = write_parts(shared / "iris-small", args.rows, features, seed=0)
    csv_size = parts_to_csv(shared / "iris-small", work / "iris-small.csv")
    big_size = write_parts(shared / "iris-big", big_rows, features, seed=1)
    with contextlib.ExitStack() as stack:
        remote = args.remote or start_spark(stack, work)
        console = start_console(stack, data, remote, shared)
        # The console answers while it seeds its registry in the background; a prediction
        # waits for the models, so after it they can be read here too.
        first_predict(console, IRIS_MODEL)
        uri = embedded_tracking_uri(data)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        model = mlflow.pyfunc.load_model(f"models:/{IRIS_MODEL}@{ALIAS}")
        start_rss = idle_rss(console.process.pid, 3.0)
        checked = Checked(model, IRIS_MODEL, features)
        spark = spark_job(console, checked, shared, "small", args.rows)
        huge = spark_job(console, checked, shared, "big", big_rows)
        print(f"  check: {huge.check}")
        local = local_job(console, checked, work / "iris-small.csv", args.rows)
        print(f"  checks: spark {spark.check}; local {local.check}")
    baseline = JobRun(f"in-process {args.rows / 1e6:g}M", args.rows, state="succeeded")
    baseline.wall_s = in_process(model, shared / "iris-small", work / "raw", features)
    baseline.ok, baseline.check = check(model, work / "raw", args.rows, features)
    print(f"  in-process: {baseline.wall_s:.1f} s; {baseline.check}")
    huge.extra = f"{big_size / GB:.2f} GB Parquet in {len(list((shared / 'iris-big').iterdir()))}"
    notes += [
        f"inputs: {args.rows:,} rows = {small_size / MB:.0f} MB Parquet "
        f"({args.rows // PART_ROWS} parts), same rows as a {csv_size / MB:.0f} MB CSV for the "
        f"local engine; {big_rows:,} rows = {huge.extra} parts",
        f"app tree RSS at start, before any job: {start_rss / MB:.0f} MB",
    ]
    return [spark, local, baseline], huge, notes


@dataclass(frozen=True)
class Checked:
    """The model a job runs (by name, in the console) and checks against (here)."""

    model: Any
    name: str
    features: list[str]


def spark_job(console: Server, checked: Checked, shared: Path, part: str, rows: int) -> JobRun:
    """Parquet parts in ``shared/iris-<part>`` → ``shared/out-<part>`` on Spark, checked."""
    job = JobRun(f"spark {rows / 1e6:g}M", rows)
    body = {
        "source": str(shared / f"iris-{part}"),
        "destination": str(shared / f"out-{part}"),
        "format": "parquet",
        "engine": "spark",
    }
    if run_job(console, checked.name, body, job)["state"] == "succeeded":
        job.ok, job.check = check(checked.model, shared / f"out-{part}", rows, checked.features)
    return job


def local_job(console: Server, checked: Checked, csv: Path, rows: int) -> JobRun:
    """The same rows as an uploaded CSV (the upload timed apart) on the local engine, the
    Parquet result downloaded and checked."""
    job = JobRun(f"local {rows / 1e6:g}M", rows)
    file_id, upload_s = upload(console.base_url, csv)
    size = csv.stat().st_size
    job.extra = f"upload of the {size / MB:.0f} MB CSV: {upload_s:.1f} s, not counted"
    print(f"  uploaded the CSV in {upload_s:.1f} s")
    body = {"source": f"upload:{file_id}", "format": "parquet", "engine": "local"}
    state = run_job(console, checked.name, body, job)
    if state["state"] == "succeeded":
        result = csv.with_name("local.parquet")
        download(console.base_url, state["result"]["file_id"], result)
        job.ok, job.check = check(checked.model, result, rows, checked.features)
    return job


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def sections(small: list[JobRun], huge: JobRun) -> list[Section]:
    spark, local, _ = small
    return [compare_section(small), big_section(huge), progress_section([spark, huge, local])]


def compare_section(small: list[JobRun]) -> Section:
    spark, local, baseline = small
    rows = [
        [
            r.label,
            f"{r.rows:,}",
            r.state,
            f"{r.wall_s:.1f}",
            f"{r.job_s:.1f}" if r.job_s else "-",
            f"{r.rate:,.0f}",
            ratio(r.wall_s, local.wall_s),
            mark(r.ok),
        ]
        for r in small
    ]
    return Section(
        f"{spark.rows:,} rows: Spark vs the local engine",
        ["case", "rows", "state", "wall s", "job s", "rows/s", "vs local", "check"],
        rows,
        [
            "spark: POST /jobs engine spark, Parquet parts → Parquet parts at a path (zstd), "
            "Connect server local[2] on this machine",
            "local: POST /jobs engine local, the same rows as an uploaded CSV → one Parquet file "
            f"in the user's files, scored in the web process ({local.extra})",
            "in-process: no server, per Parquet part: pyarrow read, pyfunc predict, write",
            f"spark / local: {ratio(spark.wall_s, local.wall_s)}; spark / in-process: "
            f"{ratio(spark.wall_s, baseline.wall_s)}; wall = POST to the finished state seen "
            f"(polled every {POLL_S} s), job = the job's own summary seconds",
            *(f"check {r.label}: {r.check}" for r in small),
        ],
    )


def big_section(huge: JobRun) -> Section:
    growth = huge.rss_peak - huge.rss_idle
    flat = huge.state == "succeeded" and growth < 100 * MB
    return Section(
        f"{huge.rows:,} rows on Spark",
        ["measure", "value"],
        [
            ["state", huge.state],
            ["wall s / job s", f"{huge.wall_s:.1f} / {huge.job_s:.1f}"],
            ["rows/s", f"{huge.rate:,.0f}"],
            ["app tree RSS idle before, MB", f"{huge.rss_idle / MB:.0f}"],
            ["app tree RSS peak during, MB", f"{huge.rss_peak / MB:.0f}"],
            ["growth (peak − idle), MB", f"{growth / MB:.0f}"],
            ["RSS at each poll, min–max MB", f"{huge.rss_min / MB:.0f}–{huge.rss_max / MB:.0f}"],
            ["check", mark(huge.ok)],
        ],
        [
            f"check: {huge.check}",
            f"input {huge.extra} parts; destination a path, Parquet (zstd)",
            "RSS summed over the console's gunicorn master and workers (psutil, every ~50 ms), "
            "not the Spark server",
            f"memory flat (growth < 100 MB): [{mark(flat)}]",
        ],
    )


def progress_section(runs: list[JobRun]) -> Section:
    readings = []
    for run in runs:
        step = max(1, len(run.readings) // 6)
        picked = run.readings[::step]
        picked += [r for r in run.readings[-1:] if r is not picked[-1]]
        readings += [[run.label, *describe(r)] for r in picked]
    note = "rows done on Spark are estimated from tasks done; the local engine counts rows"
    header = ["job", "time", "progress"]
    return Section("Progress readings (GET /api/jobs/<id>)", header, readings, [note])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the comparison")
    parser.add_argument("--big-rows", type=int, default=100_000_000, help="rows on Spark alone")
    parser.add_argument(
        "--remote", default="", help="an existing Spark Connect server's sc:// address"
    )
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    if min(args.rows, args.big_rows) < 1:
        parser.error("row counts must be positive")
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with project_on_path(), tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        small, huge, notes = benchmark(args, Path(tmp))
    notes += [
        "console: python app.py (gunicorn, default 2 workers × 8 threads, PREDICT_CHUNK_ROWS "
        f"{os.environ.get('PREDICT_CHUNK_ROWS', '100000')}), model main.ml_models."
        "iris_classifier@Champion; Spark Connect server local[2], default driver memory; "
        "both on the same 2 CPUs, run under nice -n 19 while others worked on the machine",
        f"whole run: {time.monotonic() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
        f"command: bench/spark.py {' '.join(sys.argv[1:])}".rstrip(),
    ]
    parts = sections(small, huge)
    print("\n" + render_sections_text(parts, notes))
    markdown = render_sections_markdown(HEADING, parts, notes)
    (OUT_DIR / "spark.md").write_text(markdown)
    if args.write_results:
        replace_section(RESULTS, HEADING, markdown)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(r.ok for r in [*small, huge]) else 1


if __name__ == "__main__":
    sys.exit(main())
