"""Faster than the peers? One table, every row measured in the same run on this machine.

Our JSON API (adaptive batching on, and off) against `mlflow models serve` and in-process
`pyfunc.predict`: 1 and 10,000 rows in both JSON forms; 1, 4, 16 and 64 concurrent clients
(throughput, p50, p99, errors); cold start of `python app.py` (fresh and seeded data dir); the
server-side time of the Dash JSON callback for one row. Each goal is printed PASS or MISS.

    .venv/bin/python bench/peers.py [--repeat 300] [--write-results]
    .venv/bin/python bench/peers.py --latency-only [--repeat-large 30]   # the latency table

Smaller runs: ``--clients 1,4 --requests-per-client 10 --large-rows 100 --callback-repeat 5``.
The exit code is 1 when a request of the concurrency rounds failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from cold_start import cold_starts
from load import Round, Target, run_round
from report import (
    IN_PROCESS,
    Result,
    Section,
    mark,
    median,
    render_sections_markdown,
    replace_section,
)
from report import render_sections_text as render_text
from run import (
    ALIAS,
    OUT_DIR,
    ROOT,
    Targets,
    build_cases,
    champion_files,
    elapsed_ms,
    iris_frame,
    prime_workers,
    project_on_path,
    run_cases,
    seed_registry,
    session,
    start_mlflow_serve,
    to_json,
)
from servers import Server, child_env, free_port, start_server, wait_ready

RESULTS = ROOT / "bench" / "RESULTS.md"
CLIENTS = "1,4,16,64"
REQUESTS_PER_CLIENT = {1: 300, 4: 100, 16: 40, 64: 20}  # the default for each client count
OTHER_REQUESTS_PER_CLIENT = 20
SECTION = "Faster than the peers (bench/peers.py)"


def start_console(stack: contextlib.ExitStack, data_dir: Path, name: str, **env: str) -> Server:
    port = free_port()
    environment = child_env(PORT=str(port), APP_DATA_DIR=str(data_dir), WEB_CONCURRENCY="2", **env)
    server = start_server(
        stack,
        name,
        [sys.executable, "app.py"],
        port=port,
        env=environment,
        cwd=ROOT,
        log_dir=OUT_DIR,
    )
    print(f"{name} ready in {wait_ready(server, '/api/health'):.1f} s at {server.base_url}")
    return server


def latency_rows(results: list[Result]) -> tuple[list[list[str]], list[tuple[str, bool]]]:
    """Median per case, overhead over in-process, and ours-vs-serve goals per input size."""
    rows, goals = [], []
    for size in sorted({r.rows for r in results}):
        cases = {r.label: r for r in results if r.rows == size}
        base = cases[IN_PROCESS].median_ms
        for r in cases.values():
            rows.append(
                [
                    f"{size:,} row(s): {r.label}",
                    f"{r.median_ms:.2f}",
                    f"{r.p90_ms:.2f}",
                    f"{r.median_ms - base:+.2f}",
                    "",
                ]
            )
        pairs = (
            [("ours: one record", "mlflow: dataframe_records")]
            if size == 1
            else [
                ("ours: list of records", "mlflow: dataframe_records"),
                ("ours: dataframe_split", "mlflow: dataframe_split"),
            ]
        )
        for ours, theirs in pairs:
            overhead = cases[ours].median_ms - base
            serve = max(cases[theirs].median_ms - base, 1e-9)
            ok = overhead <= 0.5 * serve
            text = (
                f"{size:,} row(s) {ours[6:]}: overhead {overhead:.2f} ms vs serve's "
                f"{serve:.2f} ms = {overhead / serve:.2f}x (goal ≤ 0.5x)"
            )
            goals.append((text, ok))
    return rows, goals


def concurrency(
    targets: dict[str, Target], args: argparse.Namespace
) -> dict[int, dict[str, Round]]:
    rounds: dict[int, dict[str, Round]] = {}
    for clients in args.clients:
        each = args.requests_per_client or REQUESTS_PER_CLIENT.get(
            clients, OTHER_REQUESTS_PER_CLIENT
        )
        total = clients * each
        print(f"{clients} client(s), {total} 1-row requests per server")
        rounds[clients] = {name: run_round(t, clients, total) for name, t in targets.items()}
    return rounds


def concurrency_rows(rounds: dict[int, dict[str, Round]]) -> tuple[list, list]:
    rows, goals = [], []
    for clients, by_name in rounds.items():
        serve = by_name["mlflow models serve"]
        for name, r in by_name.items():
            rows.append(
                [
                    f"{clients} client(s): {name}",
                    f"{r.throughput:.0f}",
                    f"{r.percentile(50):.1f}",
                    f"{r.percentile(99):.1f}",
                    str(r.errors),
                    f"{r.throughput / serve.throughput:.2f}x",
                ]
            )
        ours = by_name["ours, batching on"]
        errors = sum(r.errors for n, r in by_name.items() if n.startswith("ours"))
        if clients == 16:
            ratio = ours.throughput / serve.throughput
            goals.append((f"16 clients: {ratio:.2f}x serve's throughput (goal ≥ 3x)", ratio >= 3))
            goals.append(
                (
                    f"16 clients: our p99 {ours.percentile(99):.0f} ms below serve's p50 "
                    f"{serve.percentile(50):.0f} ms",
                    ours.percentile(99) < serve.percentile(50),
                )
            )
        if clients in (16, 64):
            goals.append((f"{clients} clients: {errors} errors of ours (goal 0)", errors == 0))
    return rows, goals


def dash_callback_ms(data_dir: Path, model: Any, repeat: int) -> tuple[float, float, float]:
    """Server-side time of the JSON tab's Predict for one record (the Flask app in this
    process, no network), of in-process predict, and of the follow-up callback that adds
    the answer's confidence and explanation once it is on screen, medians."""
    import orjson
    import pandas as pd

    os.environ["APP_DATA_DIR"] = str(data_dir)
    with project_on_path():
        from app import create_app, services_of
        from layouts.answer import JSON_ANSWER
        from layouts.ids import History, Json, Page
        from services.registry.demo import IRIS_MODEL
        from services.settings import Settings
        from tests.dash_requests import click_request, page_token, store_request

        app = create_app(settings=Settings.from_env())
    record = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    selection = {"name": IRIS_MODEL, "ref": ALIAS, "version": "1", "alias": ALIAS}
    outputs = (
        f"{JSON_ANSWER.result}.children",
        f"{JSON_ANSWER.stale}.children",
        f"{History.NEW}.data",
    )
    body = click_request(
        app,
        outputs,
        Json.PREDICT,
        [(Json.TEXT, "value", to_json(record).decode()), (Page.SELECTION, "data", selection)],
    )
    client = app.server.test_client()
    url = f"/_dash-update-component?endId={page_token(client)}"
    frame = pd.DataFrame([record])

    def timed(call: Any) -> float:
        started = time.perf_counter()
        call()
        return (time.perf_counter() - started) * 1000

    answer = client.post(url, json=body)
    if answer.status_code != 200 or "virginica" not in answer.get_data(as_text=True):
        raise RuntimeError(f"the JSON callback answered {answer.status_code}")
    asked = orjson.loads(answer.get_data())["response"][JSON_ANSWER.asked]["data"]
    follow = store_request(app, f"{JSON_ANSWER.insight}.children", JSON_ANSWER.asked, asked)
    if "%" not in client.post(url, json=follow).get_data(as_text=True):
        raise RuntimeError("the follow-up callback gave no confidence")
    runs = [
        (
            timed(lambda: client.post(url, json=body)),
            timed(lambda: model.predict(frame)),
            timed(lambda: client.post(url, json=follow)),
        )
        for _ in range(repeat)
    ]
    services_of(app.server).audit.close()  # before the data dir goes
    return tuple(median([run[i] for run in runs]) for i in range(3))  # type: ignore[return-value]


def sections(args: argparse.Namespace, work: Path) -> tuple[list[Section], list[str], int]:
    """The report's sections, its notes, and how many requests of the concurrency rounds
    failed (the latency cases raise on the first failure)."""
    import mlflow.pyfunc

    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    seeded = work / "seeded"
    tracking_uri = seed_registry(seeded)
    model_dir = champion_files(tracking_uri, IRIS_MODEL)
    with contextlib.ExitStack() as stack:
        on = start_console(stack, seeded, "console-batching-on")
        off = (
            None
            if args.latency_only
            else start_console(stack, seeded, "console-batching-off", BATCH_WINDOW_MS="0")
        )
        serve = start_mlflow_serve(stack, model_dir, cwd=seeded)
        path = f"/api/models/{IRIS_MODEL}/{ALIAS}/predict"
        model = mlflow.pyfunc.load_model(str(model_dir))
        invocations = f"{serve.base_url}/invocations"
        targets = Targets(model, on.base_url + path, invocations, session(stack), session(stack))
        one = iris_frame(1, IRIS_FEATURES)
        record = one.to_dict("records")[0]
        for console in (on, off):
            if console is not None:
                prime_workers(console, console.base_url + path, record)
        latency = run_cases(build_cases(targets, one), args.repeat)
        trips = empty_round_trips(targets, on.base_url, serve.base_url, args.repeat)
        large = iris_frame(args.large_rows, IRIS_FEATURES)
        latency += run_cases(build_cases(targets, large), args.repeat_large)
        if args.latency_only:
            rows, goals = latency_rows(latency)
            command = (
                f"command: bench/peers.py --latency-only --repeat {args.repeat} "
                f"--repeat-large {args.repeat_large}"
            )
            return latency_sections(rows, goals, trips), [command], 0
        assert off is not None
        body = to_json(record)
        rounds = concurrency(
            {
                "ours, batching on": Target("ours, batching on", on.base_url + path, body),
                "ours, batching off": Target("ours, batching off", off.base_url + path, body),
                "mlflow models serve": Target(
                    "mlflow models serve",
                    targets.invocations_url,
                    to_json({"dataframe_records": [record]}),
                ),
            },
            args,
        )
    colds = cold_starts(seeded, work, IRIS_MODEL, args.cold_repeat)
    callback = dash_callback_ms(seeded, targets.model, args.callback_repeat)
    failed = sum(r.errors for by_name in rounds.values() for r in by_name.values())
    command = f"command: bench/peers.py {' '.join(sys.argv[1:])}".rstrip()
    return build_sections(latency, rounds, colds, callback, trips), [command], failed


def empty_round_trips(
    targets: Targets, ours: str, serve: str, repeat: int
) -> dict[str, tuple[float, float]]:
    """Median and p90 ms of a request that does nothing on each server (ours: the health
    route, through the same hooks as a prediction; serve: its ping), taking turns: the floor
    under any overhead, with this client."""
    calls = {
        "ours: GET /api/health": (targets.ours, f"{ours}/api/health"),
        "mlflow: GET /ping": (targets.theirs, f"{serve}/ping"),
    }
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(repeat):
        for label, (client, url) in calls.items():
            samples[label].append(elapsed_ms(lambda c=client, u=url: c.get(u).raise_for_status()))
    return {k: (median(v), float(np.percentile(v, 90))) for k, v in samples.items()}


def latency_section(rows: list[list[str]], trips: dict[str, tuple[float, float]]) -> Section:
    floor = [
        [f"empty round trip: {label}", f"{m:.2f}", f"{p90:.2f}", "", ""]
        for label, (m, p90) in trips.items()
    ]
    note = (
        "an empty round trip is in every request's overhead: the 1-row goal (half of "
        "serve's overhead) leaves our route that budget minus our empty round trip"
    )
    return Section(
        "Latency (iris RandomForest @Champion)",
        ["case", "median ms", "p90 ms", "over in-process ms", ""],
        rows + floor,
        [note],
    )


def latency_sections(
    rows: list[list[str]], goals: list[tuple[str, bool]], trips: dict[str, tuple[float, float]]
) -> list[Section]:
    """Only the latency table and its goals (``--latency-only``)."""
    return [
        latency_section(rows, trips),
        Section("Goals", ["goal", "verdict"], [[text, mark(ok)] for text, ok in goals], []),
    ]


def build_sections(latency, rounds, colds, callback, trips) -> list[Section]:
    rows, goals = latency_rows(latency)
    crows, cgoals = concurrency_rows(rounds)
    pages = {k: median([c.to_page_s for c in colds if c.kind == k]) for k in ("fresh", "seeded")}
    first = {k: median([c.to_predict_s for c in colds if c.kind == k]) for k in pages}
    cold_rows = [
        [f"{k} APP_DATA_DIR", f"{s:.2f}", f"≤ {limit} s", f"{first[k]:.2f}"]
        for (k, s), limit in zip(pages.items(), (5, 3), strict=True)
    ]
    goals += cgoals + [
        (f"cold start, {k}: {s:.2f} s (goal ≤ {limit} s)", s <= limit)
        for (k, s), limit in zip(pages.items(), (5, 3), strict=True)
    ]
    callback_ms, predict_ms, follow_ms = callback
    extra = callback_ms - predict_ms
    goals.append(
        (
            f"Dash JSON callback, 1 row: {callback_ms:.2f} ms = predict {predict_ms:.2f} "
            f"+ {extra:.2f} ms (goal ≤ +5 ms); then its confidence and explanation "
            f"{follow_ms:.2f} ms in a follow-up callback",
            extra <= 5,
        )
    )
    return [
        latency_section(rows, trips),
        Section(
            "Concurrency: 1-row predicts, every client its own keep-alive session",
            ["clients: server", "req/s", "p50 ms", "p99 ms", "errors", "vs serve"],
            crows,
            [
                "both consoles: python app.py, 2 gunicorn workers × 8 threads; serve: uvicorn, "
                "its default"
            ],
        ),
        Section(
            "Cold start",
            ["launch", "to first page s", "goal", "to first prediction s"],
            cold_rows,
            [f"medians of {len(colds) // 2} launches each; polled every 50 ms"],
        ),
        Section(
            "Goals",
            ["goal", "verdict"],
            [[text, mark(ok)] for text, ok in goals],
            [
                "Dash callback: the Predict callback's own server time minus in-process "
                "predict; a one-row answer's probabilities and explanation come in a second "
                "callback, timed apart (earlier runs counted the probabilities inside the "
                "first and allowed their time)"
            ],
        ),
    ]


def client_counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(","))
    if min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be at least 1")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="timed calls per 1-row case")
    parser.add_argument("--cold-repeat", type=int, default=2, help="launches per data dir kind")
    parser.add_argument(
        "--repeat-large", type=int, default=30, help="timed calls per 10,000-row case"
    )
    parser.add_argument(
        "--large-rows", type=int, default=10_000, help="rows in the large latency cases"
    )
    parser.add_argument(
        "--clients", type=client_counts, default=CLIENTS, help="client counts, as 1,4,16,64"
    )
    parser.add_argument(
        "--requests-per-client",
        type=int,
        default=0,
        help="requests each client sends (default: 300, 100, 40, 20 for 1, 4, 16, 64)",
    )
    parser.add_argument(
        "--callback-repeat", type=int, default=200, help="timed calls of the Dash callback"
    )
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="only the latency cases: no concurrency, cold start or Dash",
    )
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    if args.latency_only and args.write_results:
        parser.error("--write-results needs the whole run (RESULTS.md holds every section)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="peers-") as work, project_on_path():
        found, notes, failed = sections(args, Path(work))
    print(render_text(found, notes))
    if args.write_results:
        replace_section(RESULTS, SECTION, render_sections_markdown(SECTION, found, notes))
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
