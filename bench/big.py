"""Big-load benchmark: many clients at once, a 1,000,000-row CSV end to end, the app's memory
while it scores that file, and cold starts; each against a baseline measured in the same run.

    .venv/bin/python bench/big.py [--rows 1000000] [--requests 1600] [--clients 16]
                                  [--rounds 3] [--repeat 3] [--cold-repeat 3] [--ten-million]

Prints the tables and writes them, with the machine description, to bench/RESULTS.md and a
copy to bench/out/ (``--results bench/out/trial.md`` for trial runs). Every server is stopped
whatever happens (error, Ctrl-C, SIGTERM) and the temporary directory (registry, CSV files) is
removed. The exit code is 1 when a request failed or a download was wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bigcsv import (
    AppTimes,
    RawTimes,
    app_pipeline,
    post_pipeline,
    raw_pipeline,
    verify,
    write_iris_csv,
)
from cold_start import RECORD, cold_section, cold_starts, predict_url
from load import Round, Target, concurrency_section, connection_split, run_round
from report import Section, mark, median, render_sections_markdown, render_sections_text
from rss import MB, idle_rss, sampling_peak, tree_rss
from run import (
    ALIAS,
    OUT_DIR,
    ROOT,
    WEB_WORKERS,
    champion_files,
    non_negative,
    prime_workers,
    project_on_path,
    seed_registry,
    start_console,
    start_mlflow_serve,
    stop_on_sigterm,
    to_json,
)
from servers import Server, start_job_servers

RESULTS = ROOT / "bench" / "RESULTS.md"
TITLE = "Big-load benchmark: concurrency, a big CSV end to end, memory, cold start"
E2E_GOAL = 1.3  # app total / in-process total
MEMORY_GOAL = 3.0  # peak growth / CSV file size
WARMUP_REQUESTS_PER_CLIENT = 10


@dataclass(frozen=True)
class Setup:
    data_dir: Path
    work_dir: Path
    model_dir: Path
    model: Any
    features: list[str]
    model_name: str


# -- 1. concurrency -----------------------------------------------------------------------


def split_probe(server: Server) -> Callable[[], str]:
    port = int(server.base_url.rsplit(":", 1)[1])
    return lambda: connection_split(server.process.pid, port)


def load_targets(console: Server, mlflow_serve: Server, model_name: str) -> list[Target]:
    ours = predict_url(console, model_name)
    theirs = f"{mlflow_serve.base_url}/invocations"
    body = to_json({"dataframe_records": [RECORD]})
    return [
        Target("ours (gunicorn)", ours, to_json(RECORD), split_probe(console)),
        Target("mlflow models serve", theirs, body, split_probe(mlflow_serve)),
    ]


def concurrency(targets: list[Target], args: argparse.Namespace) -> dict[str, list[Round]]:
    """A warm-up round each, then timed rounds taking turns, so drift touches both alike."""
    for target in targets:
        warmup = run_round(target, args.clients, args.clients * WARMUP_REQUESTS_PER_CLIENT)
        if warmup.errors:
            raise RuntimeError(f"{target.name}: {warmup.errors} errors while warming up")
    rounds: dict[str, list[Round]] = {target.name: [] for target in targets}
    for number in range(args.rounds):
        for target in targets:
            result = run_round(target, args.clients, args.requests)
            rounds[target.name].append(result)
            print(
                f"  round {number + 1}: {target.name}: {result.throughput:.0f} req/s, "
                f"p50 {result.percentile(50):.1f} ms, p99 {result.percentile(99):.1f} ms"
            )
    return rounds


# -- 2 and 3. a big CSV end to end, and memory --------------------------------------------


@dataclass
class BigRun:
    rows: int
    file_bytes: int
    idle_rss: int
    app: list[AppTimes] = field(default_factory=list)
    raw: list[RawTimes] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # tree RSS just before each app run
    checks: list[tuple[bool, str]] = field(default_factory=list)
    posts: list[AppTimes] = field(default_factory=list)  # the same file as one text/csv POST
    post_rises: list[int] = field(default_factory=list)  # peak minus RSS at the POST's start
    after_rss: int = 0
    error: str = ""

    @property
    def growth(self) -> int:
        return max(self.peaks, default=self.idle_rss) - self.idle_rss

    @property
    def largest_rise(self) -> int:
        """The most one run added over the RSS it started from (what stays is not counted)."""
        return max((p - s for p, s in zip(self.peaks, self.starts, strict=True)), default=0)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)


def one_round(setup: Setup, console: Server, source: Path, big: BigRun) -> None:
    """In-process baseline, then the app with its memory sampled; then check the download."""
    raw_out, app_out = setup.work_dir / "raw_result.csv", setup.work_dir / "app_result.csv"
    raw_times, expected = raw_pipeline(setup.model, source, raw_out, setup.features)
    big.raw.append(raw_times)
    model_path = f"{setup.model_name}/{ALIAS}"
    big.starts.append(tree_rss(console.process.pid))
    with sampling_peak(console.process.pid) as sampler:
        app_times = app_pipeline(console.base_url, model_path, source, app_out)
    big.app.append(app_times)
    big.peaks.append(sampler.peak)
    big.checks.append(verify(app_out, expected))
    start_rss = tree_rss(console.process.pid)
    with sampling_peak(console.process.pid) as sampler:
        big.posts.append(post_pipeline(console.base_url, model_path, source, app_out))
    big.post_rises.append(sampler.peak - start_rss)
    big.checks.append(verify(app_out, expected))
    print(
        f"  {big.rows:,} rows: app {app_times.total_s:.1f} s (score {app_times.score_s:.1f} s), "
        f"in-process {raw_times.total_s:.1f} s, peak RSS {sampler.peak / MB:.0f} MB, "
        f"check: {big.checks[-1][1]}"
    )
    for path in (raw_out, app_out):
        path.unlink(missing_ok=True)


def big_file(
    setup: Setup, console: Server, rows: int, repeat: int, keep_going: bool = False
) -> BigRun:
    """``repeat`` rounds on one generated file; with ``keep_going`` a failure is recorded in
    the result (and reported) instead of ending the benchmark."""
    source = setup.work_dir / f"iris_{rows}.csv"
    started = time.monotonic()
    size = write_iris_csv(source, rows, setup.features)
    print(f"{rows:,}-row CSV: {size / MB:.1f} MB, written in {time.monotonic() - started:.1f} s")
    for _ in range(2):  # new connections each: both workers should have loaded the model
        prime_workers(console, predict_url(console, setup.model_name), RECORD)
    start_job_servers(console, WEB_WORKERS, setup.work_dir)  # the upload's would be growth
    big = BigRun(rows, size, idle_rss(console.process.pid))
    try:
        for _ in range(repeat):
            one_round(setup, console, source, big)
    except Exception as error:
        if not keep_going:
            raise
        print(f"  {rows:,} rows failed: {error!r}")
        big.error = repr(error)[:300]
    finally:
        big.after_rss = tree_rss(console.process.pid)
        source.unlink(missing_ok=True)
    return big


def e2e_section(big: BigRun) -> Section:
    raw_total = median([t.total_s for t in big.raw])
    steps = [
        ("ours: upload (streamed)", [t.upload_s for t in big.app]),
        ("ours: score route", [t.score_s for t in big.app]),
        ("ours: download (streamed)", [t.download_s for t in big.app]),
        ("ours: total", [t.total_s for t in big.app]),
        ("ours: one text/csv POST", [t.total_s for t in big.posts]),
        ("in-process: read (pyarrow)", [t.read_s for t in big.raw]),
        ("in-process: predict (pyfunc)", [t.predict_s for t in big.raw]),
        ("in-process: write (pyarrow)", [t.write_s for t in big.raw]),
        ("in-process: total", [t.total_s for t in big.raw]),
    ]
    rows = [
        [label, f"{median(v):.2f}", f"{min(v):.2f}", f"{median(v) / raw_total:.2f}x"]
        for label, v in steps
    ]
    ratio = median([t.total_s for t in big.app]) / raw_total
    post = median([t.total_s for t in big.posts]) / raw_total
    verdicts = ", ".join(message for _, message in big.checks[:1])
    lines = [
        f"{big.rows:,} rows, {big.file_bytes / MB:.1f} MB CSV (id + 4 features); "
        f"{len(big.app)} runs, baseline and app taking turns; result "
        f"{big.app[0].result_bytes / MB:.1f} MB, failed rows {big.app[0].failed_rows}",
        f"total ours / in-process: {ratio:.2f}x (goal ≤ {E2E_GOAL}x) [{mark(ratio <= E2E_GOAL)}]",
        f"text/csv POST / in-process: {post:.2f}x (goal ≤ {E2E_GOAL}x) [{mark(post <= E2E_GOAL)}]",
        f"correctness of the download: [{'PASS' if big.passed else 'FAIL'}] {verdicts}",
    ]
    header = ["step", "median s", "min s", "vs in-process total"]
    return Section(f"2. {big.rows:,}-row CSV end to end", header, rows, lines)


def memory_section(big: BigRun) -> Section:
    size = big.file_bytes

    def row(label: str, value: int) -> list[str]:
        return [label, f"{value / MB:.0f}", f"{value / size:.2f}x"]

    rows = [
        row("CSV file", size),
        row("app tree RSS idle, before", big.idle_rss),
        row("app tree RSS peak, during", max(big.peaks)),
        row("growth (peak − idle)", big.growth),
        row("app tree RSS after the runs", big.after_rss),
        row("largest rise within one run", big.largest_rise),
        row("largest rise within one text/csv POST", max(big.post_rises)),
    ]
    ratio, post = big.growth / size, max(big.post_rises) / size
    lines = [
        "RSS summed over gunicorn master + workers (psutil), sampled every ~50 ms during "
        "upload, score and download",
        "largest rise within one run: peak minus the RSS that run started from (memory kept "
        "from earlier runs not counted again)",
        f"growth / file size: {ratio:.2f}x (goal < {MEMORY_GOAL}x) [{mark(ratio < MEMORY_GOAL)}]",
        f"text/csv POST rise / file size: {post:.2f}x (goal ≤ {MEMORY_GOAL}x) "
        f"[{mark(post <= MEMORY_GOAL)}]",
    ]
    header = ["measure", "MB", "vs file size"]
    return Section(f"3. Memory while scoring the {big.rows:,}-row CSV", header, rows, lines)


def ten_million_section(big: BigRun) -> Section:
    done = not big.error and bool(big.app)
    rows = [
        ["rows", f"{big.rows:,}"],
        ["CSV file MB", f"{big.file_bytes / MB:.0f}"],
        ["completed", "yes" if done else f"no: {big.error}"],
    ]
    if done:
        app, raw = big.app[0], big.raw[0]
        rows += [
            [
                "upload / score / download s",
                f"{app.upload_s:.1f} / {app.score_s:.1f} / {app.download_s:.1f}",
            ],
            ["total s (ours)", f"{app.total_s:.1f}"],
            ["total s (in-process)", f"{raw.total_s:.1f}"],
            ["ours / in-process", f"{app.total_s / raw.total_s:.2f}x"],
            ["app tree RSS idle / peak MB", f"{big.idle_rss / MB:.0f} / {max(big.peaks) / MB:.0f}"],
            [
                "peak growth MB (vs file size)",
                f"{big.growth / MB:.0f} ({big.growth / big.file_bytes:.2f}x)",
            ],
            ["download check", f"{'PASS' if big.passed else 'FAIL'}: {big.checks[0][1]}"],
        ]
    lines = [
        "the in-process baseline holds the whole file in memory (one read, one predict call); "
        "the app streams it in PREDICT_CHUNK_ROWS chunks",
    ]
    title = f"5. {big.rows:,} rows end to end (one run)"
    return Section(title, ["measure", "value"], rows, lines)


# -- orchestration ------------------------------------------------------------------------


def prepare(work_dir: Path) -> Setup:
    import mlflow.pyfunc

    from services.registry.demo import IRIS_FEATURES, IRIS_MODEL

    data_dir = work_dir / "app-data"
    tracking_uri = seed_registry(data_dir)
    model_dir = champion_files(tracking_uri, IRIS_MODEL)
    model = mlflow.pyfunc.load_model(str(model_dir))
    return Setup(data_dir, work_dir, model_dir, model, list(IRIS_FEATURES), IRIS_MODEL)


def benchmark(args: argparse.Namespace, work_dir: Path) -> tuple[list[Section], bool]:
    """The report's sections, and whether every request succeeded and every download was
    right (a slow run still completes; a wrong one does not)."""
    setup = prepare(work_dir)
    cold = cold_starts(setup.data_dir, setup.work_dir, setup.model_name, args.cold_repeat)
    with contextlib.ExitStack() as stack:
        console = start_console(stack, setup.data_dir)
        with contextlib.ExitStack() as serve_stack:
            mlflow_serve = start_mlflow_serve(serve_stack, setup.model_dir, cwd=setup.data_dir)
            print(f"concurrency: {args.clients} clients, {args.requests:,} requests a round")
            rounds = concurrency(load_targets(console, mlflow_serve, setup.model_name), args)
        big = big_file(setup, console, args.rows, args.repeat)
        huge = None
        if args.ten_million:
            huge = big_file(setup, console, args.big_rows, 1, keep_going=True)
    sections = [
        concurrency_section(rounds, args),
        e2e_section(big),
        memory_section(big),
        cold_section(cold),
    ]
    errors = sum(r.errors for results in rounds.values() for r in results)
    ok = errors == 0 and big.passed
    if huge is None:
        return sections, ok
    return [*sections, ten_million_section(huge)], ok and huge.passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--rows", type=int, default=1_000_000, help="rows in the big CSV (default 1,000,000)")
    add("--repeat", type=int, default=3, help="end-to-end runs of the big CSV (default 3)")
    add("--requests", type=int, default=1600, help="1-row predicts per concurrency round")
    add("--clients", type=int, default=16, help="concurrent clients (default 16)")
    add("--rounds", type=int, default=3, help="concurrency rounds per server (default 3)")
    add(
        "--cold-repeat",
        type=non_negative,
        default=3,
        help="cold starts of each kind (default 3; 0: none)",
    )
    add("--ten-million", action="store_true", help="also one run with --big-rows rows")
    add("--big-rows", type=int, default=10_000_000, help="rows for --ten-million")
    add("--results", type=Path, default=RESULTS, help="where to write the markdown table")
    args = parser.parse_args(argv)
    counts = (args.rows, args.repeat, args.requests, args.clients, args.rounds, args.big_rows)
    if min(counts) < 1:
        parser.error("every count must be at least 1")
    return args


def settings_lines(
    args: argparse.Namespace, seconds: float, load: tuple[float, float]
) -> list[str]:
    threads = os.environ.get("GUNICORN_THREADS", "8")
    chunk = os.environ.get("PREDICT_CHUNK_ROWS", "100000")
    return [
        f"console: python app.py → gunicorn, 2 workers × {threads} threads, "
        f"PREDICT_CHUNK_ROWS={chunk}; mlflow models serve --env-manager local: uvicorn, "
        "its default 1 worker; model main.ml_models.iris_classifier@Champion (RandomForest)",
        "client and servers share the 2 CPUs (the client's 16 threads cost CPU too)",
        f"whole run: {seconds:.0f} s; 1-minute load average {load[0]:.2f} before, "
        f"{load[1]:.2f} after (others' work adds noise)",
        f"command: .venv/bin/python bench/big.py {' '.join(sys.argv[1:])}".rstrip()
        + f" (rows {args.rows:,}, {args.repeat} end-to-end runs)",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with project_on_path(), tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        sections, completed = benchmark(args, Path(tmp))
    load = (load_before, os.getloadavg()[0])
    notes = settings_lines(args, time.monotonic() - started, load)
    print("\n" + render_sections_text(sections, notes))
    markdown = render_sections_markdown(TITLE, sections, notes)
    paths = sorted({args.results.resolve(), (OUT_DIR / args.results.name).resolve()})
    for path in paths:
        path.write_text(markdown)
    print("\nwritten to " + " and ".join(str(path) for path in paths))
    return 0 if completed else 1


if __name__ == "__main__":
    sys.exit(main())
