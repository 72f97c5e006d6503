"""Cold start: from launching ``python app.py`` to the first page and the first prediction,
with a seeded and with a fresh APP_DATA_DIR. ``bench/peers.py`` runs it among the rest; alone:

    .venv/bin/python bench/cold_start.py [--repeat 3] [--root /another/checkout]

``--root`` launches another checkout's ``app.py`` (the same machine, the same interpreter), to
compare two versions of the start in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from report import Section, median
from run import ALIAS, OUT_DIR, ROOT, seed_registry, stop_on_sigterm
from servers import Server, child_env, free_port, start_server, wait_ready

RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
COLD_POLL_S = 0.05


@dataclass(frozen=True)
class ColdStart:
    kind: str
    to_page_s: float
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
    data_dir: Path, work_dir: Path, model_name: str, repeat: int, root: Path = ROOT
) -> list[ColdStart]:
    """Seeded and fresh data dirs in turns; each fresh dir is new and empty."""
    print(f"cold starts: {repeat} with the seeded data dir, {repeat} with a fresh one")
    results = []
    for run in range(repeat):
        results.append(cold_start("seeded", run, data_dir, model_name, root))
        fresh = work_dir / f"fresh-{run}"
        results.append(cold_start("fresh", run, fresh, model_name, root))
        shutil.rmtree(fresh, ignore_errors=True)
    return results


def cold_section(results: list[ColdStart]) -> Section:
    rows = []
    for kind in ("seeded", "fresh"):
        runs = [r for r in results if r.kind == kind]
        pages, predicts = [r.to_page_s for r in runs], [r.to_predict_s for r in runs]
        rows.append(
            [
                f"{kind} APP_DATA_DIR",
                str(len(runs)),
                f"{median(pages):.2f}",
                f"{min(pages):.2f}–{max(pages):.2f}",
                f"{median(predicts):.2f}",
                f"{min(predicts):.2f}–{max(predicts):.2f}",
            ]
        )
    header = ["launch of python app.py", "runs", "to GET / s", "range", "to predict s", "range"]
    line = "times from launch; polled every 50 ms; OS file cache warm (not a cold machine)"
    return Section("4. Cold start", header, rows, [line])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold starts of python app.py only")
    parser.add_argument("--repeat", type=int, default=3, help="launches per data dir kind")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to launch")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from services.registry.demo import IRIS_MODEL

    with tempfile.TemporaryDirectory(prefix="cold-") as folder:
        work = Path(folder)
        seed_registry(work / "seeded")
        results = cold_starts(work / "seeded", work, IRIS_MODEL, args.repeat, args.root)
    section = cold_section(results)
    print(f"root: {args.root.resolve()}")
    for row in [section.header, *section.rows]:
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
