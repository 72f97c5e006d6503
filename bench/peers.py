"""Faster than the peers? One table, every row measured in the same run on this machine.

Our JSON API (adaptive batching on, and off) against `mlflow models serve`, MLServer with
its MLflow runtime (adaptive batching on, and off; bench/mlserver_peer.py) and the model's
own `predict` in this process (the limit): a 100-tree forest (iris @Champion) and a logistic
regression (@Challenger), 1 and 10,000 rows in both JSON forms; 1, 4, 16 and 64 concurrent
clients on the forest (throughput, p50, p99, errors); the web workers' memory idle and after
a first explanation, against the import floor; cold start of `python app.py` (fresh and
seeded data dir); the server-side time of the Dash JSON callback for one row. Each goal is
against the better peer for its figure, printed PASS or MISS.

    .venv/bin/python bench/peers.py [--repeat 300] [--write-results]
    .venv/bin/python bench/peers.py --latency-only [--repeat-large 30]   # the latency table

Smaller runs: ``--clients 1,4 --requests-per-client 10 --large-rows 100 --callback-repeat 5``;
``--peers mlflow`` leaves MLServer out (its virtualenv takes minutes to build the first time).
The exit code is 1 when a request of the concurrency rounds failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import requests
from cold_start import (
    COLD_HEADER,
    COLD_NOTES,
    FRESH,
    SEEDED,
    ColdStart,
    cold_row,
    cold_starts,
    kinds,
    limit_kind,
    peer_starts,
    to_predict,
)
from load import Round, Target, run_round
from mlserver_peer import MLSERVER_VERSION, Batching, mlserver_launch, start_mlserver
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
from rss import MB, idle_rss, settled_mb
from run import (
    ALIAS,
    MLFLOW,
    OUT_DIR,
    ROOT,
    Peer,
    Targets,
    build_cases,
    champion_files,
    in_process_limit,
    iris_frame,
    mlflow_serve_launch,
    prime_workers,
    project_on_path,
    run_cases,
    seed_registry,
    session,
    start_mlflow_serve,
    to_json,
)
from servers import Launch, Server, child_env, free_port, job_servers, start_server, wait_ready
from timing import alternating

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


MODELS = (("forest", "Champion"), ("logistic", "Challenger"))  # iris, by alias
OURS_ON, OURS_OFF = "ours, batching on", "ours, batching off"
MLSERVER_SETTINGS = {
    "mlserver": Batching(),  # 64 rows / 2 ms, in the server's process (see FACTS.md)
    "mlserver, no batching": Batching(max_batch_size=1, max_batch_time_s=0),
}
IMPORT_FLOOR = "mlflow, sklearn.ensemble, pandas, pyarrow"
WORKER_IMPORTS = (
    "dash, dash_bootstrap_components, dash_ag_grid, plotly.graph_objects, flask_caching, "
    "mlflow.store.model_registry.sqlalchemy_store, alembic"
)


def peer_labels(results: list[Result]) -> list[str]:
    return sorted({r.label.split(": ")[0] for r in results if ": " in r.label} - {"ours"})


def latency_rows(model: str, results: list[Result]) -> tuple[list[list[str]], list]:
    """Median per case, overhead over the limit, and the goals against the better peer."""
    rows, goals = [], []
    for size in sorted({r.rows for r in results}):
        cases = {r.label: r for r in results if r.rows == size}
        limit = cases[IN_PROCESS].median_ms
        for r in cases.values():
            over = f"{r.median_ms - limit:+.2f}"
            rows.append(
                [
                    f"{model}, {size:,} row(s): {r.label}",
                    f"{r.median_ms:.2f}",
                    f"{r.p90_ms:.2f}",
                    over,
                    "",
                ]
            )
        forms = (
            [("ours: one record", "dataframe_records")]
            if size == 1
            else [
                ("ours: list of records", "dataframe_records"),
                ("ours: dataframe_split", "dataframe_split"),
            ]
        )
        for ours, form in forms:
            peers = {p: cases[f"{p}: {form}"] for p in peer_labels(list(cases.values()))}
            best_name, best = min(peers.items(), key=lambda item: item[1].median_ms)
            overhead = cases[ours].median_ms - limit
            theirs = max(best.median_ms - limit, 1e-9)
            what = f"{model}, {size:,} row(s) {ours[6:]}"
            if size == 1:
                goals.append(
                    (
                        f"{what}: {cases[ours].median_ms:.2f} ms below {best_name}'s "
                        f"{best.median_ms:.2f} ms",
                        cases[ours].median_ms < best.median_ms,
                    )
                )
            goals.append(
                (
                    f"{what}: overhead {overhead:.2f} ms vs {best_name}'s {theirs:.2f} ms = "
                    f"{overhead / theirs:.2f}x (goal ≤ 0.5x)",
                    overhead <= 0.5 * theirs,
                )
            )
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
        peers = {n: r for n, r in by_name.items() if not n.startswith("ours")}
        best_name, best = max(peers.items(), key=lambda item: item[1].throughput)
        for name, r in by_name.items():
            rows.append(
                [
                    f"{clients} client(s): {name}",
                    f"{r.throughput:.0f}",
                    f"{r.percentile(50):.1f}",
                    f"{r.percentile(99):.1f}",
                    str(r.errors),
                    f"{r.throughput / best.throughput:.2f}x",
                ]
            )
        ours = by_name[OURS_ON]
        errors = sum(r.errors for n, r in by_name.items() if n.startswith("ours"))
        if clients in (16, 64):
            ratio = ours.throughput / best.throughput
            goals += [
                (
                    f"{clients} clients: {ratio:.2f}x {best_name}'s throughput (goal ≥ 2x)",
                    ratio >= 2,
                ),
                (
                    f"{clients} clients: our p99 {ours.percentile(99):.0f} ms below "
                    f"{best_name}'s p50 {best.percentile(50):.0f} ms",
                    ours.percentile(99) < best.percentile(50),
                ),
                (f"{clients} clients: {errors} errors of ours (goal 0)", errors == 0),
            ]
    return rows, goals


@dataclass(frozen=True)
class Memory:
    floor_mb: float  # a Python that imported what every prediction needs
    worker_floor_mb: float  # ... and what a worker needs for the page and the registry
    started_mb: list[float]  # each web worker, idle after its warm-up, before any request
    worker_mb: list[float]  # each web worker, idle after the rounds
    app_mb: float  # the whole app after the rounds: master, workers and their children
    explained_mb: float  # the largest web worker after a first explanation


def import_floor_mb(modules: str) -> float:
    """Resident memory of a fresh Python that imported ``modules``."""
    code = f"import {modules}; import psutil; print(psutil.Process().memory_info().rss)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / MB


def web_workers(console: Server) -> list[psutil.Process]:
    """gunicorn's workers: the master's own children, never a job server."""
    jobs = {p.pid for p in job_servers(console)}
    return [p for p in psutil.Process(console.process.pid).children() if p.pid not in jobs]


def each_worker_mb(console: Server) -> list[float]:
    return sorted(p.memory_info().rss / MB for p in web_workers(console))


def memory(
    console: Server, started: list[float], explain_url: str, record: dict[str, Any]
) -> Memory:
    time.sleep(2)  # idle: the last round's requests answered
    workers, app = each_worker_mb(console), idle_rss(console.process.pid) / MB
    answer = requests.post(explain_url, json=record, timeout=120)
    answer.raise_for_status()
    time.sleep(1)
    explained = max(each_worker_mb(console))
    floors = import_floor_mb(IMPORT_FLOOR), import_floor_mb(f"{IMPORT_FLOOR}, {WORKER_IMPORTS}")
    return Memory(*floors, started, workers, app, explained)


def _mbs(values: list[float]) -> str:
    return ", ".join(f"{value:.0f}" for value in values)


def memory_section(found: Memory) -> tuple[Section, list]:
    floor, worker_floor = found.floor_mb, found.worker_floor_mb
    rows = [
        [f"import floor: import {IMPORT_FLOOR}", f"{floor:.0f}", "1.00x", ""],
        [f"a worker's import floor: + {WORKER_IMPORTS}", f"{worker_floor:.0f}", "", "1.00x"],
        [
            "each web worker, idle at start",
            _mbs(found.started_mb),
            f"{max(found.started_mb) / floor:.2f}x",
            f"{max(found.started_mb) / worker_floor:.2f}x",
        ],
        [
            "each web worker, idle after the rounds",
            _mbs(found.worker_mb),
            f"{max(found.worker_mb) / floor:.2f}x",
            f"{max(found.worker_mb) / worker_floor:.2f}x",
        ],
        ["the whole app after the rounds (master, workers)", f"{found.app_mb:.0f}", "", ""],
        [
            "the largest web worker after a first explanation",
            f"{found.explained_mb:.0f}",
            f"{found.explained_mb / floor:.2f}x",
            f"{found.explained_mb / worker_floor:.2f}x",
        ],
    ]
    started = max(found.started_mb, default=0.0)
    goal = (
        f"idle web worker at start {started:.0f} MB ≤ the import floor {floor:.0f} MB + 10 %",
        started <= 1.1 * floor,
    )
    section = Section(
        "Memory (resident)",
        ["process", "MB", "vs import floor", "vs a worker's floor"],
        rows,
        [
            "shap, numba and plotly's figure factory are imported by the feature that needs "
            "them, not at start; pyspark comes with mlflow.types (so in both floors)",
            "a worker's floor adds the page (Dash) and the embedded registry's store "
            "(SQLAlchemy, Alembic), which every worker of this app imports",
            "the job server (multiprocessing's fork server) starts when a file arrives, "
            "not with the workers: none here",
        ],
    )
    return section, [goal]


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
    predict = in_process_limit(model, frame)

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
            timed(predict),
            timed(lambda: client.post(url, json=follow)),
        )
        for _ in range(repeat)
    ]
    services_of(app.server).audit.close()  # before the data dir goes
    return tuple(median([run[i] for run in runs]) for i in range(3))  # type: ignore[return-value]


def start_peers(
    stack: contextlib.ExitStack, model_dir: Path, work: Path, wanted: set[str], model: str
) -> dict[str, Server]:
    """The peers asked for, each serving ``model_dir``: label → server."""
    work.mkdir(parents=True, exist_ok=True)
    peers: dict[str, Server] = {}
    if MLFLOW in wanted:
        peers[MLFLOW] = start_mlflow_serve(stack, model_dir, cwd=work)
    if "mlserver" in wanted:
        for label, batching in MLSERVER_SETTINGS.items():
            name = f"{label.replace(', ', '-').replace(' ', '-')}-{model}"
            peers[label] = start_mlserver(stack, ROOT, model_dir, work, OUT_DIR, batching, name)
    return peers


@dataclass
class Measured:
    """What the servers' part of the run found (the latency cases raise on a failure)."""

    latency: dict[str, list[Result]]
    trips: dict[str, tuple[float, float]]
    rounds: dict[int, dict[str, Round]]
    memory: Memory | None
    model: Any  # the forest, loaded in this process (the Dash callback's baseline)


def time_each_model(
    stack: contextlib.ExitStack, args: argparse.Namespace, work: Path, consoles: list[Server]
) -> tuple[dict[str, list[Result]], dict[str, tuple[float, float]], dict[str, Server], Any]:
    """Every model's latency cases against its own peers; the forest's round trips."""
    import mlflow.pyfunc

    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    tracking_uri = seed_registry_once(work / "seeded")
    one, large = iris_frame(1, IRIS_FEATURES), iris_frame(args.large_rows, IRIS_FEATURES)
    record = one.to_dict("records")[0]
    latency: dict[str, list[Result]] = {}
    for model, alias in MODELS:
        files = champion_files(tracking_uri, IRIS_MODEL, alias)
        peers = start_peers(stack, files, work / model, args.peers, model)
        path = f"/api/models/{IRIS_MODEL}/{alias}/predict"
        targets = Targets(
            mlflow.pyfunc.load_model(str(files)),
            consoles[0].base_url + path,
            session(stack),
            tuple(
                Peer(label, f"{server.base_url}/invocations", session(stack))
                for label, server in peers.items()
            ),
        )
        for console in consoles:
            prime_workers(console, console.base_url + path, record)
        print(f"timing the {model} (@{alias})")
        latency[model] = run_cases(build_cases(targets, one), args.repeat)
        latency[model] += run_cases(build_cases(targets, large), args.repeat_large)
        if model == "forest":
            forest = (peers, targets.model)
            trips = empty_round_trips(targets, consoles[0].base_url, peers, args.repeat)
    return latency, trips, forest[0], forest[1]


def seed_registry_once(data_dir: Path) -> str:
    from services.settings import embedded_tracking_uri

    if not data_dir.exists():
        seed_registry(data_dir)
    return embedded_tracking_uri(data_dir)


def measure_servers(args: argparse.Namespace, work: Path) -> Measured:
    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    seeded = work / "seeded"
    record = iris_frame(1, IRIS_FEATURES).to_dict("records")[0]
    with contextlib.ExitStack() as stack:
        seed_registry_once(seeded)
        on = start_console(stack, seeded, "console-batching-on")
        started = [] if args.latency_only else settled_mb(lambda: each_worker_mb(on), 120.0)
        if args.latency_only:
            latency, trips, _, model = time_each_model(stack, args, work, [on])
            return Measured(latency, trips, {}, None, model)
        off = start_console(stack, seeded, "console-batching-off", BATCH_WINDOW_MS="0")
        latency, trips, peers, model = time_each_model(stack, args, work, [on, off])
        path = f"/api/models/{IRIS_MODEL}/{ALIAS}/predict"
        body = to_json(record)
        targets = {
            OURS_ON: Target(OURS_ON, on.base_url + path, body),
            OURS_OFF: Target(OURS_OFF, off.base_url + path, body),
        }
        for label, server in peers.items():
            invocations = f"{server.base_url}/invocations"
            peer_body = to_json({"dataframe_records": [record]})
            targets[label] = Target(label, invocations, peer_body)
        rounds = concurrency(targets, args)
        explain_url = f"{on.base_url}/api/models/{IRIS_MODEL}/{ALIAS}/explain"
        return Measured(latency, trips, rounds, memory(on, started, explain_url, record), model)


def sections(args: argparse.Namespace, work: Path) -> tuple[list[Section], list[str], int]:
    """The report's sections, its notes, and how many requests of the concurrency rounds
    failed (the latency cases raise on the first failure)."""
    from services.registry.demo import IRIS_MODEL

    found = measure_servers(args, work)
    if args.latency_only:
        command = (
            f"command: bench/peers.py --latency-only --repeat {args.repeat} "
            f"--repeat-large {args.repeat_large}"
        )
        return latency_sections(found.latency, found.trips), [command], 0
    assert found.memory is not None
    seeded = work / "seeded"
    colds = cold_starts(seeded, work, IRIS_MODEL, args.cold_repeat, with_limit=True)
    colds += peer_starts(cold_launches(args.peers, seeded, IRIS_MODEL, work), args.cold_repeat)
    callback = dash_callback_ms(seeded, found.model, args.callback_repeat)
    failed = sum(r.errors for by_name in found.rounds.values() for r in by_name.values())
    command = f"command: bench/peers.py {' '.join(sys.argv[1:])}".rstrip()
    tables = build_sections(found.latency, found.rounds, colds, callback, found.trips, found.memory)
    return tables, [command, *peer_notes(args.peers)], failed


def peer_notes(wanted: set[str]) -> list[str]:
    notes = [
        "the limit: the fastest predict of the model in the benchmark's process, the one our "
        "workers make for conformed input (services/compat.sklearn_predict: scikit-learn's "
        "estimator on the frame's values, a forest's trees summed in one loop), scikit-learn's "
        "tasks lightened as in our workers (services/compat.lighter_sklearn_tasks); MLflow's "
        "whole pyfunc.predict is shown beside it"
    ]
    if "mlserver" in wanted:
        settings = "; ".join(f"{label}: {b.words}" for label, b in MLSERVER_SETTINGS.items())
        notes.append(
            f"MLServer {MLSERVER_VERSION} with mlserver-mlflow, /invocations ({settings}); "
            "parallel_workers > 0 does not start here (its pool's workers die: FACTS.md)"
        )
    return notes


def empty_round_trips(
    targets: Targets, ours: str, peers: dict[str, Server], repeat: int
) -> dict[str, tuple[float, float]]:
    """Median and p90 ms of a request that does nothing on each server (ours: the health
    route, through the same hooks as a prediction; serve: its ping; MLServer: its liveness),
    taking turns: the floor under any overhead, with this client."""
    calls = {"ours: GET /api/health": (targets.ours, f"{ours}/api/health")}
    pings = {MLFLOW: "/ping", "mlserver": "/v2/health/live"}
    for peer in targets.peers:
        if peer.label in pings:
            path = pings[peer.label]
            calls[f"{peer.label}: GET {path}"] = (peer.session, peers[peer.label].base_url + path)
    gets = {
        label: lambda c=client, u=url: c.get(u).raise_for_status()
        for label, (client, url) in calls.items()
    }
    samples = alternating(gets, repeat)
    return {k: (median(v), float(np.percentile(v, 90))) for k, v in samples.items()}


def latency_section(
    latency: dict[str, list[Result]], trips: dict[str, tuple[float, float]]
) -> tuple[Section, list]:
    rows, goals = [], []
    for model, results in latency.items():
        found, aimed = latency_rows(model, results)
        rows += found
        goals += aimed
    floor = [
        [f"empty round trip: {label}", f"{m:.2f}", f"{p90:.2f}", "", ""]
        for label, (m, p90) in trips.items()
    ]
    note = (
        "over the limit: the median minus the limit's; an empty round trip is in every "
        "request's overhead"
    )
    section = Section(
        "Latency (iris: RandomForest, 100 trees, @Champion; LogisticRegression @Challenger)",
        ["case", "median ms", "p90 ms", "over the limit ms", ""],
        rows + floor,
        [note],
    )
    return section, goals


def goals_section(goals: list[tuple[str, bool]], notes: list[str]) -> Section:
    return Section("Goals", ["goal", "verdict"], [[text, mark(ok)] for text, ok in goals], notes)


def latency_sections(
    latency: dict[str, list[Result]], trips: dict[str, tuple[float, float]]
) -> list[Section]:
    """Only the latency table and its goals (``--latency-only``)."""
    section, goals = latency_section(latency, trips)
    return [section, goals_section(goals, [])]


def build_sections(latency, rounds, colds, callback, trips, found_memory) -> list[Section]:
    latency_table, goals = latency_section(latency, trips)
    crows, cgoals = concurrency_rows(rounds)
    memory_table, mgoals = memory_section(found_memory)
    cold_table, cold_goals = cold_goals_section(colds)
    goals += cgoals + mgoals + cold_goals
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
        latency_table,
        Section(
            "Concurrency: 1-row predicts of the forest, every client its own keep-alive session",
            ["clients: server", "req/s", "p50 ms", "p99 ms", "errors", "vs the better peer"],
            crows,
            [
                "both consoles: python app.py, 2 gunicorn workers × 8 threads; serve: uvicorn, "
                "its default; MLServer: one process, its default"
            ],
        ),
        memory_table,
        cold_table,
        goals_section(
            goals,
            [
                "Dash callback: the Predict callback's own server time minus in-process "
                "predict (the limit above); a one-row answer's probabilities and explanation "
                "come in a second callback, timed apart"
            ],
        ),
    ]


COLD_GOALS_S = {SEEDED: 3, FRESH: 6}


def cold_goals_section(colds: list[ColdStart]) -> tuple[Section, list]:
    """Ours on both data dirs against its goal, the limit on both, and the peers."""
    rows = [
        [*cold_row(k, colds), f"≤ {COLD_GOALS_S[k]} s" if k in COLD_GOALS_S else ""]
        for k in kinds(colds)
    ]
    goals = []
    for kind, goal in COLD_GOALS_S.items():
        ours, limit = median(to_predict(kind, colds)), median(to_predict(limit_kind(kind), colds))
        words = f"cold start, {kind}: first prediction in {ours:.2f} s (goal ≤ {goal} s; "
        goals.append((words + f"{limit_kind(kind)}: {limit:.2f} s)", ours <= goal))
    return Section("Cold start", [*COLD_HEADER, "goal"], rows, COLD_NOTES), goals


def cold_launches(
    peers: set[str], data_dir: Path, model_name: str, work: Path
) -> dict[str, Callable[[], Launch]]:
    """Each peer asked for, launched on the files of the model ours serves at its start."""
    from services.settings import embedded_tracking_uri

    files = champion_files(embedded_tracking_uri(data_dir), model_name, ALIAS)
    launches: dict[str, Callable[[], Launch]] = {}
    if MLFLOW in peers:
        launches["mlflow models serve"] = lambda: mlflow_serve_launch(files, work)
    if "mlserver" in peers:
        launches["MLServer"] = lambda: mlserver_launch(ROOT, files, work / "cold-mlserver")
    return launches


def peer_names(text: str) -> set[str]:
    names = {part.strip() for part in text.split(",") if part.strip()}
    if not names or not names <= {MLFLOW, "mlserver"}:
        raise argparse.ArgumentTypeError("peers: mlflow, mlserver or both")
    return names


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
    parser.add_argument(
        "--peers",
        type=peer_names,
        default="mlflow,mlserver",
        help="peers to measure: mlflow (models serve), mlserver",
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
