"""Cold start: from launching ``python app.py`` to the first page and the first prediction,
with a seeded and with a fresh APP_DATA_DIR, beside the limit (bench/cold_limit.py: one bare
Python process that does only what the first prediction needs) and, from ``bench/peers.py``,
the peers launched on the model's files. ``bench/peers.py`` runs it among the rest; alone:

    .venv/bin/python bench/cold_start.py [--repeat 3] [--root /another/checkout]

``--root`` launches another checkout's ``app.py`` (the same machine, the same interpreter), to
compare two versions of the start in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from cold_limit import PREDICTED, RECORD
from report import Section, median
from run import ALIAS, OUT_DIR, ROOT, non_negative, seed_registry, stop_on_sigterm
from servers import (
    READY_TIMEOUT_S,
    Launch,
    Server,
    child_env,
    free_port,
    start_launch,
    start_server,
    wait_answer,
    wait_ready,
)

COLD_POLL_S = 0.05
LIMIT_SCRIPT = Path(__file__).resolve().parent / "cold_limit.py"
SEEDED, FRESH = "seeded", "fresh"
LIMIT = "a bare Python process"


@dataclass(frozen=True)
class ColdStart:
    kind: str  # SEEDED, FRESH, the limit on either, or a peer
    to_page_s: float | None  # None: it serves no page
    to_predict_s: float


def predict_url(server: Server, model_name: str) -> str:
    return f"{server.base_url}/api/models/{model_name}/{ALIAS}/predict"


def first_predict(server: Server, model_name: str) -> None:
    response = requests.post(predict_url(server, model_name), json=RECORD, timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"first predict answered {response.status_code}: {response.text}")


def cold_start(
    kind: str, run: int, data_dir: Path, model_name: str, root: Path = ROOT
) -> ColdStart:
    """Launch ``python app.py`` from ``root``; seconds to the first 200 on GET / and on a
    predict."""
    port = free_port()
    env = child_env(PORT=str(port), APP_DATA_DIR=str(data_dir))
    command = [sys.executable, "app.py"]
    with contextlib.ExitStack() as stack:
        launched = time.monotonic()
        server = start_server(
            stack, f"cold-{kind}-{run}", command, port=port, env=env, cwd=root, log_dir=OUT_DIR
        )
        wait_ready(server, "/", interval=COLD_POLL_S)
        to_page = time.monotonic() - launched
        first_predict(server, model_name)
        to_predict = time.monotonic() - launched
    print(f"  cold start ({kind} data dir): GET / {to_page:.1f} s, predict {to_predict:.1f} s")
    return ColdStart(kind, to_page, to_predict)


def cold_starts(
    data_dir: Path,
    work_dir: Path,
    model_name: str,
    repeat: int,
    root: Path = ROOT,
    with_limit: bool = False,
) -> list[ColdStart]:
    """Seeded and fresh data dirs in turns, each fresh dir new and empty; ``with_limit``:
    each launch followed by the limit's on the same kind of dir (the machine's speed drifts
    over minutes: side by side, the two meet the same machine)."""
    print(f"cold starts: {repeat} with the seeded data dir, {repeat} with a fresh one")
    results = []
    for run in range(repeat):
        results.append(cold_start(SEEDED, run, data_dir, model_name, root))
        if with_limit:
            results.append(limit_start(SEEDED, data_dir, model_name))
        fresh = work_dir / f"fresh-{run}"
        results.append(cold_start(FRESH, run, fresh, model_name, root))
        shutil.rmtree(fresh, ignore_errors=True)
        if with_limit:
            results.append(limit_start(FRESH, fresh, model_name))
            shutil.rmtree(fresh, ignore_errors=True)
    return results


def limit_kind(kind: str) -> str:
    return f"{LIMIT}, {kind}"


def limit_start(kind: str, data_dir: Path, model_name: str) -> ColdStart:
    """Seconds from launching bench/cold_limit.py to its ``predicted``."""
    command = [sys.executable, str(LIMIT_SCRIPT), str(data_dir), model_name, ALIAS]
    log_path = OUT_DIR / f"cold-limit-{kind}.log"
    with open(log_path, "wb") as log:
        launched = time.monotonic()
        with subprocess.Popen(
            command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=log
        ) as process:
            watchdog = threading.Timer(READY_TIMEOUT_S, process.kill)  # a hang ends the run
            watchdog.start()
            try:
                answered = seconds_until(process, PREDICTED, launched)
            finally:
                watchdog.cancel()
    if process.returncode != 0 or answered is None:
        raise RuntimeError(f"{LIMIT_SCRIPT.name} failed ({process.returncode}): see {log_path}")
    print(f"  cold start ({limit_kind(kind)}): predict {answered:.1f} s")
    return ColdStart(limit_kind(kind), None, answered)


def seconds_until(process: subprocess.Popen[bytes], line: str, launched: float) -> float | None:
    """Seconds from ``launched`` until ``process`` prints ``line``; None if it never does.
    Not until its exit: a Python process takes a while to end, a server does not end."""
    assert process.stdout is not None
    for said in process.stdout:
        if said.decode().strip() == line:
            return time.monotonic() - launched
    return None


def peer_start(name: str, launch: Launch) -> ColdStart:
    """Seconds from launching a peer to its first prediction at ``/invocations``."""
    body = {"dataframe_records": [RECORD]}
    with contextlib.ExitStack() as stack:
        launched = time.monotonic()
        server = start_launch(stack, f"cold-{name.replace(' ', '-')}", launch, OUT_DIR)
        url = f"{server.base_url}/invocations"
        wait_answer(server, lambda: requests.post(url, json=body, timeout=120), COLD_POLL_S)
        answered = time.monotonic() - launched
    print(f"  cold start ({name}): predict {answered:.1f} s")
    return ColdStart(name, None, answered)


def peer_starts(peers: dict[str, Callable[[], Launch]], repeat: int) -> list[ColdStart]:
    """Each peer launched ``repeat`` times on the model's files, in turns."""
    return [peer_start(name, launch()) for _ in range(repeat) for name, launch in peers.items()]


def kinds(results: list[ColdStart]) -> list[str]:
    """Each kind of launch once, in the order first measured."""
    return list(dict.fromkeys(r.kind for r in results))


def to_predict(kind: str, results: list[ColdStart]) -> list[float]:
    """Seconds to the first prediction of each launch of ``kind``."""
    return [r.to_predict_s for r in results if r.kind == kind]


def cold_row(kind: str, results: list[ColdStart]) -> list[str]:
    """The launches of ``kind``: how many, the median and range to the page and to the
    first prediction."""
    runs = [r for r in results if r.kind == kind]
    pages = [r.to_page_s for r in runs if r.to_page_s is not None]
    predicts = to_predict(kind, results)
    return [
        f"python app.py, {kind} APP_DATA_DIR" if kind in (SEEDED, FRESH) else kind,
        str(len(runs)),
        f"{median(pages):.2f}" if pages else "",
        f"{min(pages):.2f}–{max(pages):.2f}" if pages else "",
        f"{median(predicts):.2f}",
        f"{min(predicts):.2f}–{max(predicts):.2f}",
    ]


COLD_HEADER = ["launch", "runs", "to GET / s", "range", "to predict s", "range"]
COLD_NOTES = [
    "times from launch; polled every 50 ms; OS file cache warm (not a cold machine)",
    f"seeded, fresh: python app.py with that APP_DATA_DIR; {LIMIT}: bench/cold_limit.py, "
    "which imports MLflow's pyfunc and pandas, (seeds the demo,) reads the alias, loads that "
    "version and predicts one row: the limit; peers: launched on the model's files",
]


def cold_section(results: list[ColdStart]) -> Section:
    rows = [cold_row(kind, results) for kind in kinds(results)]
    return Section("4. Cold start", COLD_HEADER, rows, COLD_NOTES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold starts of python app.py only")
    parser.add_argument(
        "--repeat",
        type=non_negative,
        default=3,
        help="launches per data dir kind (0: none, the header)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to launch")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from services.registry.demo import IRIS_MODEL

    with tempfile.TemporaryDirectory(prefix="cold-") as folder:
        work = Path(folder)
        seeded = work / "seeded"
        seed_registry(seeded)
        results = cold_starts(seeded, work, IRIS_MODEL, args.repeat, args.root, with_limit=True)
    section = cold_section(results)
    print(f"root: {args.root.resolve()}")
    for row in [section.header, *section.rows]:
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
