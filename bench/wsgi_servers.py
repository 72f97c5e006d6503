"""The console under two WSGI servers, side by side: gunicorn gthread (what ``python app.py``
runs) and granian's WSGI server, the same app, workers and threads, the same seeded data dir,
both started before the first round and measured in turns.

Rounds: an empty round trip (``GET /api/health``) and a 1-row predict of the forest, the two
servers called alternately; 16 and 64 concurrent clients of 1-row predicts; a big file
streamed up (``POST /api/uploads``) and down again (``GET /api/files/<id>``), each server's
peak memory while it does; the idle memory of each server's processes.

    .venv/bin/python bench/wsgi_servers.py [--repeat 600] [--file-mb 1024] [--write-results]

granian is a benchmark-only dependency (requirements-dev.txt); its master runs none of
gunicorn.conf.py's hooks, so the data dir is seeded before either server starts.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import requests
from bigcsv import download, upload
from load import Round, Target, run_round
from report import Section, median, render_sections_markdown, render_sections_text, replace_section
from rss import MB, idle_rss, sampling_peak
from run import (
    OUT_DIR,
    ROOT,
    WEB_WORKERS,
    iris_frame,
    project_on_path,
    seed_registry,
    stop_on_sigterm,
    to_json,
)
from servers import Server, child_env, free_port, start_job_servers, start_server, wait_ready
from timing import alternating

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "WSGI servers: gunicorn gthread vs granian"
THREADS = 8
GUNICORN = "gunicorn"
GRANIAN = "granian"
UPLOAD_LIMIT_MB = 4096  # room for a 1 GiB file and its header line


@dataclass(frozen=True)
class Console:
    server: Server
    predict_url: str
    record: bytes


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    return child_env(
        PORT=str(port),
        APP_DATA_DIR=str(data_dir),
        WEB_CONCURRENCY=str(WEB_WORKERS),
        GUNICORN_THREADS=str(THREADS),
        UPLOAD_LIMIT_MB=str(UPLOAD_LIMIT_MB),
    )


def granian_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "granian", "--interface", "wsgi", "bench.granian_entry:server"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(WEB_WORKERS), "--blocking-threads", str(THREADS), "--no-ws"),
        "--access-log",  # as gunicorn.conf.py's accesslog does
    ]


def start(stack: contextlib.ExitStack, name: str, data_dir: Path) -> Server:
    port = free_port()
    command = [sys.executable, "app.py"] if name == GUNICORN else granian_command(port)
    server = start_server(
        stack, name, command, port=port, env=server_env(data_dir, port), cwd=ROOT, log_dir=OUT_DIR
    )
    print(f"{name} ready in {wait_ready(server, '/api/health'):.1f} s at {server.base_url}")
    return server


def console(server: Server, model_name: str, features: list[str]) -> Console:
    record = iris_frame(1, features).to_dict(orient="records")
    url = f"{server.base_url}/api/models/{model_name}/Champion/predict"
    return Console(server, url, to_json({"dataframe_records": record}))


def primed(target: Console) -> None:
    """Every worker has loaded the model before anything is timed: as many clients at once as
    the server has threads, each on its own connection."""
    clients = WEB_WORKERS * THREADS
    round_ = run_round(Target("priming", target.predict_url, target.record), clients, 4 * clients)
    if round_.errors:
        raise RuntimeError(f"{target.server.name}: {round_.errors} priming requests failed")


# -- rounds -------------------------------------------------------------------------------


def round_trips(consoles: dict[str, Console], repeat: int) -> list[list[str]]:
    rows = []
    with contextlib.ExitStack() as stack:
        sessions = {name: stack.enter_context(requests.Session()) for name in consoles}
        health = {
            name: _getter(sessions[name], f"{target.server.base_url}/api/health")
            for name, target in consoles.items()
        }
        predict = {
            name: _poster(sessions[name], target.predict_url, target.record)
            for name, target in consoles.items()
        }
        for label, calls in (("empty round trip", health), ("forest, 1 row", predict)):
            for name, ms in alternating(calls, repeat).items():
                rows.append(
                    [f"{label}: {name}", f"{median(ms):.2f}", f"{np.percentile(ms, 90):.2f}"]
                )
    return rows


def _getter(session: requests.Session, url: str) -> Callable[[], object]:
    return lambda: session.get(url).raise_for_status()


def _poster(session: requests.Session, url: str, body: bytes) -> Callable[[], object]:
    headers = {"Content-Type": "application/json"}
    return lambda: session.post(url, data=body, headers=headers).raise_for_status()


def concurrency(consoles: dict[str, Console], clients: list[int], per_client: int) -> list[Round]:
    rounds = []
    for count in clients:
        for name, target in consoles.items():
            goal = Target(f"{count} clients: {name}", target.predict_url, target.record)
            rounds.append(run_round(goal, count, count * per_client))
    return rounds


# -- a big file up and down ---------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    server: str
    upload_s: float
    upload_rise_mb: float
    download_s: float
    download_rise_mb: float


def write_big_csv(path: Path, size_mb: int, features: list[str]) -> int:
    """``size_mb`` MiB of iris rows (the same 1 MiB block over and over: the servers only
    move the bytes); the size."""
    line = ",".join(str(value) for value in iris_frame(1, features).iloc[0]) + "\n"
    block = (line * (MB // len(line))).encode()
    with open(path, "wb") as out:
        out.write((",".join(features) + "\n").encode())
        for _ in range(size_mb):
            out.write(block)
    return path.stat().st_size


def transfer(target: Console, source: Path, work: Path) -> Transfer:
    pid = target.server.process.pid
    idle = idle_rss(pid)
    with requests.Session() as session, sampling_peak(pid) as peak:
        started = time.perf_counter()
        file_id = upload(session, target.server.base_url, source)
        uploaded = time.perf_counter()
    up_peak = peak.peak
    with requests.Session() as session, sampling_peak(pid) as peak:
        started_down = time.perf_counter()
        size = download(session, target.server.base_url, file_id, work / "down.csv")
        downloaded = time.perf_counter()
    if size != source.stat().st_size:
        raise RuntimeError(f"{target.server.name}: downloaded {size} bytes of {source.stat()}")
    return Transfer(
        target.server.name,
        uploaded - started,
        (up_peak - idle) / MB,
        downloaded - started_down,
        (peak.peak - idle) / MB,
    )


def transfers(targets: list[Console], source: Path, work: Path, rounds: int) -> list[Transfer]:
    """``rounds`` transfers per server, the servers' order turned around each round."""
    found = []
    for number in range(rounds):
        order = targets if number % 2 == 0 else targets[::-1]
        found += [transfer(target, source, work) for target in order]
    return sorted(found, key=lambda t: t.server)


# -- memory -------------------------------------------------------------------------------


def processes_mb(server: Server) -> tuple[float, float]:
    """The largest process's and the whole tree's resident memory, idle."""
    root = psutil.Process(server.process.pid)
    largest = max(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    return largest / MB, idle_rss(server.process.pid) / MB


# -- the report ---------------------------------------------------------------------------


def latency_section(rows: list[list[str]]) -> Section:
    return Section(
        "Round trips (servers called in turn, one keep-alive session each)",
        ["case", "median ms", "p90 ms"],
        rows,
    )


def concurrency_section(rounds: list[Round]) -> Section:
    rows = [
        [
            r.target,
            f"{r.throughput:.0f}",
            f"{r.percentile(50):.1f}",
            f"{r.percentile(99):.1f}",
            str(r.errors),
        ]
        for r in rounds
    ]
    return Section(
        "Concurrency: 1-row predicts of the forest, every client its own keep-alive session",
        ["clients: server", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )


def transfer_section(found: list[Transfer], size: int) -> Section:
    rows = [
        [
            t.server,
            f"{t.upload_s:.1f}",
            f"{size / MB / t.upload_s:.0f}",
            f"{t.upload_rise_mb:.0f}",
            f"{t.download_s:.1f}",
            f"{size / MB / t.download_s:.0f}",
            f"{t.download_rise_mb:.0f}",
        ]
        for t in found
    ]
    header = ["server", "upload s", "MB/s", "peak rise MB"]
    return Section(
        f"A {size / MB:,.0f} MB CSV streamed up and down again",
        [*header, "download s", "MB/s", "peak rise MB"],
        rows,
        [
            "peak rise: the most the server's processes held during the transfer over their "
            "idle; one row per transfer, the servers' order turned around each round"
        ],
    )


def memory_section(found: dict[str, tuple[float, float]]) -> Section:
    rows = [[name, f"{largest:.0f}", f"{whole:.0f}"] for name, (largest, whole) in found.items()]
    return Section(
        "Memory, idle after the rounds",
        ["server", "largest process MB", "whole tree MB"],
        rows,
        [
            "each tree: the server's main process, its workers and the job server each worker "
            "started when a file for a job arrived"
        ],
    )


def sections(args: argparse.Namespace, work: Path) -> list[Section]:
    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    seed_registry(work / "data")
    features = IRIS_FEATURES
    with contextlib.ExitStack() as stack:
        servers = {name: start(stack, name, work / "data") for name in (GUNICORN, GRANIAN)}
        consoles = {name: console(s, IRIS_MODEL, features) for name, s in servers.items()}
        for target in consoles.values():
            primed(target)
            start_job_servers(target.server, WEB_WORKERS, work)
        latency = latency_section(round_trips(consoles, args.repeat))
        loaded = concurrency_section(concurrency(consoles, args.clients, args.per_client))
        memory = memory_section({name: processes_mb(s) for name, s in servers.items()})
        size = write_big_csv(work / "big.csv", args.file_mb, features)
        moved = transfers(list(consoles.values()), work / "big.csv", work, args.transfers)
    return [latency, loaded, memory, transfer_section(moved, size)]


def notes() -> list[str]:
    from importlib.metadata import version

    return [
        f"gunicorn {version('gunicorn')} gthread (python app.py) and granian {version('granian')}"
        f" WSGI (granian --interface wsgi bench.granian_entry:server --blocking-threads {THREADS}"
        " --access-log: each worker set up as gunicorn.conf.py sets up gunicorn's): "
        f"{WEB_WORKERS} workers each, {THREADS} threads per worker, the same seeded data dir",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=600, help="timed calls per round trip")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[16, 64],
        help="client counts, as 16,64",
    )
    parser.add_argument("--per-client", type=int, default=20, help="requests per client")
    parser.add_argument("--file-mb", type=int, default=1024, help="size of the big CSV")
    parser.add_argument(
        "--transfers", type=int, default=2, help="uploads and downloads of it per server"
    )
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wsgi-") as work, project_on_path():
        found = sections(args, Path(work))
    print(render_sections_text(found, notes()))
    if args.write_results:
        replace_section(RESULTS, SECTION, render_sections_markdown(SECTION, found, notes()))
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
