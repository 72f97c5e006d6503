"""Prediction latency of our JSON API against `mlflow models serve` and in-process pyfunc.

One run seeds a throw-away registry, starts both servers on loopback, loads the same model
(iris @Champion) in this process, times every case after a warm-up, prints a table and writes
it to bench/out/results.md. Both servers are stopped whatever happens.

    .venv/bin/python bench/run.py [--repeat 200] [--repeat-large 30] [--large-rows 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, where uvicorn lives
ALIAS = "Champion"
JSON_HEADERS = {"Content-Type": "application/json"}
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 120.0
GOAL_PERCENT = 50.0
VERSIONS_SHOWN = ("mlflow", "pandas", "numpy", "scikit-learn", "gunicorn", "uvicorn")

Call = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    label: str
    rows: int
    call: Call


@dataclass(frozen=True)
class Result:
    label: str
    rows: int
    median_ms: float
    p90_ms: float


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(**overrides: str) -> dict[str, str]:
    """Our environment without registry settings (the app must use its embedded one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def start_server(
    stack: contextlib.ExitStack, name: str, command: list[str], env: dict[str, str], port: int
) -> Server:
    """Start ``command`` in its own process group; ``stack`` stops the whole group."""
    log_path = OUT_DIR / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path)
    stack.callback(stop_server, server)
    return server


def stop_server(server: Server) -> None:
    """SIGTERM the group, wait, then SIGKILL whatever is left of it (workers included)."""
    group = server.process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{server.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: killing it")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    server.process.wait(timeout=STOP_TIMEOUT_S)


def log_tail(server: Server, lines: int = 20) -> str:
    text = server.log_path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def wait_ready(server: Server, path: str) -> float:
    """Seconds until GET ``path`` answers 200; fails early if the server dies."""
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with code {server.process.returncode}:\n{log_tail(server)}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.base_url + path, timeout=2).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(
        f"{server.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(server)}"
    )


def start_console(stack: contextlib.ExitStack, data_dir: Path) -> Server:
    port = free_port()
    env = child_env(PORT=str(port), APP_DATA_DIR=str(data_dir), WEB_CONCURRENCY="2")
    server = start_server(stack, "console", [sys.executable, "app.py"], env, port)
    print(f"console ready in {wait_ready(server, '/api/health'):.1f} s at {server.base_url}")
    return server


def start_mlflow_serve(stack: contextlib.ExitStack, model_dir: Path) -> Server:
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
        "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1",
    ]  # fmt: skip
    server = start_server(stack, "mlflow-serve", command, child_env(), port)
    print(f"mlflow serve ready in {wait_ready(server, '/ping'):.1f} s at {server.base_url}")
    return server


# -- registry and model -------------------------------------------------------------------


def seed_registry(data_dir: Path) -> str:
    from services.config import embedded_tracking_uri
    from services.demo_registry import ensure_demo_models

    tracking_uri = embedded_tracking_uri(data_dir)
    started = time.monotonic()
    ensure_demo_models(tracking_uri, data_dir)
    print(f"seeded demo models in {time.monotonic() - started:.1f} s")
    return tracking_uri


def champion_files(tracking_uri: str, model_name: str) -> Path:
    """Local directory of the Champion's files: version → logged model → file:// location."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = client.get_model_version_by_alias(model_name, ALIAS)
    model_id = getattr(version, "model_id", None) or version.source.removeprefix("models:/")
    location = urlparse(client.get_logged_model(model_id).artifact_location)
    if location.scheme != "file":
        raise RuntimeError(f"expected file:// model files, got {location.geturl()}")
    return Path(url2pathname(location.path))


def iris_frame(rows: int, features: list[str], seed: int = 0) -> pd.DataFrame:
    """``rows`` real iris flowers drawn with replacement (fixed seed)."""
    from sklearn.datasets import load_iris

    data = load_iris().data
    picks = np.random.default_rng(seed).integers(0, len(data), size=rows)
    return pd.DataFrame(data[picks], columns=features).astype("float64")


# -- payloads and cases -------------------------------------------------------------------


def to_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def split_body(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}


def post_call(session: requests.Session, url: str, body: bytes) -> Call:
    """One full round trip: send prepared bytes, check the status, decode the JSON answer."""

    def call() -> list[Any]:
        response = session.post(url, data=body, headers=JSON_HEADERS, timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        return response.json()["predictions"]

    return call


def in_process_call(model: Any, frame: pd.DataFrame) -> Call:
    return lambda: model.predict(frame)


def build_cases(
    model: Any, frame: pd.DataFrame, console: Server, mlflow_serve: Server, model_name: str
) -> list[Case]:
    """Every case for one input size; payload bytes are built here, never while timing."""
    rows = len(frame)
    ours = requests.Session()
    theirs = requests.Session()
    our_url = f"{console.base_url}/api/models/{model_name}/{ALIAS}/predict"
    their_url = f"{mlflow_serve.base_url}/invocations"
    records = frame.to_dict("records")
    cases = [Case("in-process pyfunc", rows, in_process_call(model, frame))]
    if rows == 1:
        cases.append(Case("ours: one record", rows, post_call(ours, our_url, to_json(records[0]))))
    else:
        cases.append(
            Case("ours: list of records", rows, post_call(ours, our_url, to_json(records)))
        )
        split = to_json({"dataframe_split": split_body(frame)})
        cases.append(Case("ours: dataframe_split", rows, post_call(ours, our_url, split)))
    mlflow_records = to_json({"dataframe_records": records})
    cases.append(
        Case("mlflow: dataframe_records", rows, post_call(theirs, their_url, mlflow_records))
    )
    if rows > 1:
        mlflow_split = to_json({"dataframe_split": split_body(frame)})
        cases.append(
            Case("mlflow: dataframe_split", rows, post_call(theirs, their_url, mlflow_split))
        )
    return cases


def prime_workers(console: Server, model_name: str, record: dict[str, Any]) -> None:
    """Concurrent requests so every gunicorn worker loads the model before any timing."""
    url = f"{console.base_url}/api/models/{model_name}/{ALIAS}/predict"
    body = to_json(record)

    def one(_: int) -> int:
        return requests.post(
            url, data=body, headers=JSON_HEADERS, timeout=REQUEST_TIMEOUT_S
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(16)))
    if set(codes) != {200}:
        raise RuntimeError(f"priming the console failed: status codes {sorted(set(codes))}")


# -- measuring ----------------------------------------------------------------------------


def as_list(predictions: Any) -> list[Any]:
    return np.asarray(predictions).ravel().tolist()


def measure(case: Case, repeat: int, warmup: int, expected: list[Any]) -> Result:
    """Warm up (the first answer is checked against in-process), then time ``repeat`` calls."""
    got = as_list(case.call())
    if got != expected:
        mismatches = sum(a != b for a, b in zip(got, expected, strict=False))
        raise RuntimeError(f"{case.label}: predictions differ ({mismatches} rows, {len(got)} got)")
    for _ in range(warmup - 1):
        case.call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        case.call()
        samples.append((time.perf_counter() - started) * 1000)
    return Result(
        case.label, case.rows, float(np.median(samples)), float(np.percentile(samples, 90))
    )


def run_size(cases: list[Case], repeat: int) -> list[Result]:
    expected = as_list(cases[0].call())
    warmup = max(3, repeat // 10)
    results = []
    for case in cases:
        result = measure(case, repeat, warmup, expected)
        print(f"  {case.label:<28} {case.rows:>6} rows  median {result.median_ms:8.2f} ms")
        results.append(result)
    return results


# -- report -------------------------------------------------------------------------------


def baseline(results: list[Result], rows: int) -> float:
    return next(r.median_ms for r in results if r.rows == rows and r.label.startswith("in-"))


def table_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        base = baseline(results, r.rows)
        rows.append([
            r.label, f"{r.rows:,}", f"{r.median_ms:.2f}", f"{r.p90_ms:.2f}",
            f"{r.median_ms / base:.2f}x", f"{r.median_ms - base:.2f}",
        ])  # fmt: skip
    return rows


HEADER = ["case", "rows", "median ms", "p90 ms", "vs in-process", "overhead ms"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---" + "|---:" * (len(HEADER) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


VERDICT_PAIRS = [
    ("ours: one record", "mlflow: dataframe_records"),
    ("ours: list of records", "mlflow: dataframe_records"),
    ("ours: dataframe_split", "mlflow: dataframe_split"),
]


def verdicts(results: list[Result]) -> list[str]:
    """Per size and format: our overhead over in-process as a share of mlflow serve's."""
    by_key = {(r.label, r.rows): r for r in results}
    lines = []
    for rows in sorted({r.rows for r in results}):
        base = baseline(results, rows)
        for ours_label, theirs_label in VERDICT_PAIRS:
            ours, theirs = by_key.get((ours_label, rows)), by_key.get((theirs_label, rows))
            if ours is None or theirs is None:
                continue
            our_overhead, their_overhead = ours.median_ms - base, theirs.median_ms - base
            if their_overhead <= 0:
                share, mark = "n/a (mlflow serve has no overhead)", "?"
            else:
                percent = 100 * our_overhead / their_overhead
                share, mark = f"{percent:.0f}%", "PASS" if percent <= GOAL_PERCENT else "MISS"
            lines.append(
                f"{rows:,} rows, {ours_label.removeprefix('ours: ')} vs {theirs_label}: "
                f"our overhead is {share} of mlflow serve's (goal ≤ {GOAL_PERCENT:.0f}%) [{mark}]"
            )
    return lines


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    cpus = len(os.sched_getaffinity(0))
    versions = ", ".join(f"{name} {installed_version(name)}" for name in VERSIONS_SHOWN)
    return [
        f"machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}; {versions}",
    ]


def write_markdown(
    results: list[Result], verdict_lines: list[str], settings: list[str], seconds: float
) -> Path:
    path = OUT_DIR / "results.md"
    parts = [
        "# Prediction latency: our API vs mlflow models serve vs in-process\n",
        *(f"- {line}" for line in [*machine_lines(), *settings, f"whole run: {seconds:.0f} s"]),
        "",
        markdown_table(table_rows(results)),
        "",
        *(f"- {line}" for line in verdict_lines),
    ]
    path.write_text("\n".join(parts) + "\n")
    return path


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per 1-row case")
    parser.add_argument("--repeat-large", type=int, default=30, help="timed calls, large cases")
    parser.add_argument("--large-rows", type=int, default=10_000, help="rows in the large cases")
    args = parser.parse_args(argv)
    if min(args.repeat, args.repeat_large) < 2 or args.large_rows < 2:
        parser.error("repeats need at least 2 calls and large inputs at least 2 rows")
    return args


def raise_on_sigterm() -> None:
    """A plain SIGTERM then unwinds like Ctrl-C, so the servers are still stopped."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def project_on_path() -> Iterator[None]:
    sys.path.insert(0, str(ROOT))
    try:
        yield
    finally:
        sys.path.remove(str(ROOT))


def benchmark(args: argparse.Namespace, data_dir: Path) -> list[Result]:
    import mlflow.pyfunc

    from services.demo_registry import IRIS_FEATURES, IRIS_MODEL

    tracking_uri = seed_registry(data_dir)
    model_dir = champion_files(tracking_uri, IRIS_MODEL)
    with contextlib.ExitStack() as stack:
        console = start_console(stack, data_dir)
        mlflow_serve = start_mlflow_serve(stack, model_dir)
        model = mlflow.pyfunc.load_model(str(model_dir))
        small, large = iris_frame(1, IRIS_FEATURES), iris_frame(args.large_rows, IRIS_FEATURES)
        prime_workers(console, IRIS_MODEL, small.to_dict("records")[0])
        results = []
        for frame, repeat in ((small, args.repeat), (large, args.repeat_large)):
            print(f"{len(frame):,} row(s), {repeat} timed calls per case:")
            cases = build_cases(model, frame, console, mlflow_serve, IRIS_MODEL)
            results += run_size(cases, repeat)
        return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with project_on_path(), tempfile.TemporaryDirectory(prefix="bench-app-data-") as tmp:
        results = benchmark(args, Path(tmp))
    seconds = time.monotonic() - started
    settings = [
        f"repeats: {args.repeat} (1 row), {args.repeat_large} ({args.large_rows:,} rows); "
        "medians after warm-up; HTTP timings are full round trips incl. JSON decode",
        "console: gunicorn, 2 workers (WEB_CONCURRENCY=2); mlflow serve: uvicorn, default workers",
    ]
    verdict_lines = verdicts(results)
    print()
    print("\n".join([*machine_lines(), *settings]))
    print()
    print(text_table(table_rows(results)))
    print()
    print("\n".join(verdict_lines))
    path = write_markdown(results, verdict_lines, settings, seconds)
    print(f"\nwhole run: {seconds:.0f} s; written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
