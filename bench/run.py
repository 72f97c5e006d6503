"""Prediction latency of our JSON API against `mlflow models serve` and in-process predict.

One run seeds a throw-away registry, starts both servers on loopback, loads the same model
(iris @Champion) in this process, times every case after a warm-up, prints a table and writes
it to bench/out/results.md (or $BENCH_OUT_DIR/results.md). Both servers are stopped whatever
happens (error, Ctrl-C, SIGTERM).

    .venv/bin/python bench/run.py [--repeat 200] [--repeat-large 30] [--large-rows 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd
import requests
from report import IN_PROCESS, PYFUNC, Result, render_markdown, render_text
from servers import (
    Launch,
    Server,
    child_env,
    free_port,
    log_tail,
    start_launch,
    start_server,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
# Servers' logs and the reports; the test suite's tiny runs point it at a temporary folder.
OUT_DIR = Path(os.environ.get("BENCH_OUT_DIR") or ROOT / "bench" / "out")
ALIAS = "Champion"
WEB_WORKERS = 2  # the consoles' gunicorn workers
MLFLOW = "mlflow"  # the label of `mlflow models serve` in the tables
JSON_HEADERS = {"Content-Type": "application/json"}
REQUEST_TIMEOUT_S = 120.0
PRIMING_REQUESTS = 16

Call = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    label: str
    rows: int
    call: Call


# -- setting up ---------------------------------------------------------------------------


@contextlib.contextmanager
def project_on_path() -> Iterator[None]:
    """The project's ``services`` package, importable while the benchmark runs."""
    sys.path.insert(0, str(ROOT))
    try:
        yield
    finally:
        sys.path.remove(str(ROOT))


def seed_registry(data_dir: Path) -> str:
    """Seed the demo models (MLflow's logging warnings are not news here)."""
    from services.registry.demo import ensure_demo_models
    from services.settings import embedded_tracking_uri

    tracking_uri = embedded_tracking_uri(data_dir)
    started = time.monotonic()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ensure_demo_models(tracking_uri, data_dir)
    print(f"seeded demo models in {time.monotonic() - started:.1f} s")
    return tracking_uri


def champion_files(tracking_uri: str, model_name: str, alias: str = ALIAS) -> Path:
    """Local directory of the alias's files: version → logged model → file:// location."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = client.get_model_version_by_alias(model_name, alias)
    model_id = getattr(version, "model_id", None) or version.source.removeprefix("models:/")
    location = urlparse(client.get_logged_model(model_id).artifact_location)
    if location.scheme != "file":
        raise RuntimeError(f"expected the model files on disk, got {location.geturl()}")
    return Path(url2pathname(location.path))


def start_console(stack: contextlib.ExitStack, data_dir: Path) -> Server:
    port = free_port()
    env = child_env(PORT=str(port), APP_DATA_DIR=str(data_dir), WEB_CONCURRENCY=str(WEB_WORKERS))
    command = [sys.executable, "app.py"]
    server = start_server(stack, "console", command, port=port, env=env, cwd=ROOT, log_dir=OUT_DIR)
    print(f"console ready in {wait_ready(server, '/api/health'):.1f} s at {server.base_url}")
    return server


def mlflow_serve_launch(model_dir: Path, cwd: Path) -> Launch:
    """``mlflow models serve`` of the model's files, in this environment."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir)]
    command += ["--env-manager", "local", "-p", str(port), "-h", "127.0.0.1"]
    return Launch(command, port, child_env(), cwd)


def start_mlflow_serve(stack: contextlib.ExitStack, model_dir: Path, cwd: Path) -> Server:
    server = start_launch(stack, "mlflow-serve", mlflow_serve_launch(model_dir, cwd), OUT_DIR)
    print(f"mlflow serve ready in {wait_ready(server, '/ping'):.1f} s at {server.base_url}")
    return server


def iris_frame(rows: int, features: list[str], seed: int = 0) -> pd.DataFrame:
    """``rows`` real iris flowers drawn with replacement (fixed seed)."""
    from sklearn.datasets import load_iris

    data = load_iris().data
    picks = np.random.default_rng(seed).integers(0, len(data), size=rows)
    return pd.DataFrame(data[picks], columns=features).astype("float64")


# -- cases --------------------------------------------------------------------------------


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


def session(stack: contextlib.ExitStack) -> requests.Session:
    """A keep-alive session, closed before the servers stop (idle connections delay that)."""
    return stack.enter_context(requests.Session())


@dataclass(frozen=True)
class Peer:
    """A peer's MLflow-compatible ``/invocations`` (``mlflow models serve``, MLServer)."""

    label: str
    invocations_url: str
    session: requests.Session


@dataclass(frozen=True)
class Targets:
    model: Any
    predict_url: str
    ours: requests.Session
    peers: tuple[Peer, ...]


def in_process_limit(model: Any, frame: pd.DataFrame) -> Call:
    """The fastest ``predict`` of the model any process here makes: the console's own call
    of it for input it has conformed (scikit-learn's estimator on the frame's values, a
    forest's trees summed in one loop, where services/compat.sklearn_predict finds one),
    else MLflow's ``pyfunc.predict``. With scikit-learn's tasks lightened as in the
    console's workers (without it a forest pays for each of the process's warning filters,
    per tree; see services/compat.py)."""
    from services.compat import lighter_sklearn_tasks, sklearn_predict

    lighter_sklearn_tasks()
    direct = sklearn_predict(model) or model.predict
    return lambda: direct(frame)


def pyfunc_predict(model: Any, frame: pd.DataFrame) -> Call:
    """MLflow's whole ``pyfunc.predict`` (its schema check included), for reference."""
    return lambda: model.predict(frame)


def build_cases(targets: Targets, frame: pd.DataFrame) -> list[Case]:
    """Every case for one input; payload bytes are built here, never while timing."""
    rows, records = len(frame), frame.to_dict("records")
    split = {"dataframe_split": split_body(frame)}
    ours: list[tuple[str, Any]] = (
        [("ours: one record", records[0])]
        if rows == 1
        else [("ours: list of records", records), ("ours: dataframe_split", split)]
    )
    theirs: list[tuple[str, Any]] = [("dataframe_records", {"dataframe_records": records})]
    if rows > 1:
        theirs.append(("dataframe_split", split))
    return [
        Case(IN_PROCESS, rows, in_process_limit(targets.model, frame)),
        Case(PYFUNC, rows, pyfunc_predict(targets.model, frame)),
        *(
            Case(label, rows, post_call(targets.ours, targets.predict_url, to_json(body)))
            for label, body in ours
        ),
        *(
            Case(
                f"{peer.label}: {form}",
                rows,
                post_call(peer.session, peer.invocations_url, to_json(body)),
            )
            for peer in targets.peers
            for form, body in theirs
        ),
    ]


def prime_workers(console: Server, predict_url: str, record: dict[str, Any]) -> None:
    """Concurrent requests, so that every gunicorn worker has loaded the model before timing."""
    body = to_json(record)

    def status(_: int) -> int:
        response = requests.post(
            predict_url, data=body, headers=JSON_HEADERS, timeout=REQUEST_TIMEOUT_S
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=PRIMING_REQUESTS // 2) as pool:
        codes = set(pool.map(status, range(PRIMING_REQUESTS)))
    if codes != {200}:
        raise RuntimeError(
            f"priming the console failed: status codes {sorted(codes)}; its log ends:\n"
            + log_tail(console)
        )


# -- measuring ----------------------------------------------------------------------------


def as_list(predictions: Any) -> list[Any]:
    return np.asarray(predictions).ravel().tolist()


def check_and_warm(case: Case, expected: list[Any], warmup: int) -> None:
    """The first answer must equal the in-process predictions; the rest only warm up."""
    got = as_list(case.call())
    if got != expected:
        differ = sum(a != b for a, b in zip(got, expected, strict=False))
        raise RuntimeError(f"{case.label}: {differ} predictions differ ({len(got)} returned)")
    for _ in range(warmup - 1):
        case.call()


def elapsed_ms(call: Call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """Like timeit: no collector pauses in this process while timing (servers keep theirs)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run_cases(cases: list[Case], repeat: int) -> list[Result]:
    """Rounds of one call per case, so drift over the run touches every case alike."""
    # the answers every case must give: MLflow's own pyfunc.predict (else the first case's)
    reference = next((case for case in cases if case.label == PYFUNC), cases[0])
    expected = as_list(reference.call())
    for case in cases:
        check_and_warm(case, expected, warmup=max(3, repeat // 10))
    samples: dict[str, list[float]] = {case.label: [] for case in cases}
    with client_gc_paused():
        for _ in range(repeat):
            for case in cases:
                samples[case.label].append(elapsed_ms(case.call))
    return [
        Result(
            case.label,
            case.rows,
            float(np.median(samples[case.label])),
            float(np.percentile(samples[case.label], 90)),
        )
        for case in cases
    ]


def benchmark(args: argparse.Namespace, data_dir: Path) -> list[Result]:
    import mlflow.pyfunc

    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    tracking_uri = seed_registry(data_dir)
    model_dir = champion_files(tracking_uri, IRIS_MODEL)
    with contextlib.ExitStack() as stack:
        console = start_console(stack, data_dir)
        mlflow_serve = start_mlflow_serve(stack, model_dir, cwd=data_dir)
        targets = Targets(
            model=mlflow.pyfunc.load_model(str(model_dir)),
            predict_url=f"{console.base_url}/api/models/{IRIS_MODEL}/{ALIAS}/predict",
            ours=session(stack),
            peers=(Peer(MLFLOW, f"{mlflow_serve.base_url}/invocations", session(stack)),),
        )
        small, large = iris_frame(1, IRIS_FEATURES), iris_frame(args.large_rows, IRIS_FEATURES)
        prime_workers(console, targets.predict_url, small.to_dict("records")[0])
        results = []
        for frame, repeat in ((small, args.repeat), (large, args.repeat_large)):
            print(f"timing {len(frame):,} row(s): {repeat} rounds over every case")
            results += run_cases(build_cases(targets, frame), repeat)
        return results


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per 1-row case")
    parser.add_argument("--repeat-large", type=int, default=30, help="timed calls, large cases")
    parser.add_argument("--large-rows", type=int, default=10_000, help="rows in the large cases")
    args = parser.parse_args(argv)
    if min(args.repeat, args.repeat_large) < 2 or args.large_rows < 2:
        parser.error("repeats need at least 2 calls and the large input at least 2 rows")
    return args


def non_negative(text: str) -> int:
    """An argparse type: a whole number, 0 or more (0 turns a part of a run off)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 or more")
    return value


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C does, so the servers are stopped on the way out."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with project_on_path(), tempfile.TemporaryDirectory(prefix="bench-app-data-") as tmp:
        results = benchmark(args, Path(tmp))
    notes = [
        f"repeats: {args.repeat} (1 row), {args.repeat_large} ({args.large_rows:,} rows), "
        "interleaved, after warm-up; HTTP = full round trip incl. JSON decode of the answer",
        "console: gunicorn, WEB_CONCURRENCY=2; mlflow models serve: uvicorn, default workers",
        f"whole run: {time.monotonic() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (others' work adds noise)",
    ]
    print("\n" + render_text(results, notes))
    path = OUT_DIR / "results.md"
    path.write_text(render_markdown(results, notes))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
