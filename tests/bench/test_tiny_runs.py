"""Every benchmark in bench/ at a tiny size: it must finish, exit 0, print its tables and
leave nothing running. A change that breaks a benchmark fails here, not months later when
someone runs it (the soak's CSV sessions once broke unnoticed).

The runs are real (servers on loopback, a browser, Spark Connect); only their sizes are
small, so their numbers mean nothing and are not checked. They run two at a time, longest
first: most of a tiny run is CPU (imports, training the demo models, starting servers), and
this machine has two cores.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.bench.runner import Finished, Tiny, header_pattern, run_tiny
from tests.processes import PROJECT

PARALLEL = 2
SERVERS_S = 480.0  # those that start servers: generous, for a machine busy with other work
IN_PROCESS_S = 300.0

COLD_START = ("launch", "runs", "to GET / s", "range", "to predict s", "range")

# Longest first, so that the two lanes end close together.
TINY = [
    Tiny(
        "spark",
        ("bench/spark.py", "--rows", "1000", "--big-rows", "2000", "--remote", "{spark}"),
        (
            ("case", "rows", "state", "wall s", "job s", "rows/s", "vs local", "check"),
            ("measure", "value"),
            ("job", "time", "progress"),
        ),
        SERVERS_S,
    ),
    Tiny(
        "peers",
        (
            *("bench/peers.py", "--repeat", "3", "--repeat-large", "2", "--large-rows", "10"),
            *("--cold-repeat", "1", "--clients", "2", "--requests-per-client", "5"),
            *("--callback-repeat", "3"),
            # MLServer's own virtualenv takes minutes to build the first time, more than
            # this suite's budget allows; the benchmark itself measures it by default
            *("--peers", "mlflow"),
        ),
        (
            ("case", "median ms", "p90 ms", "over the limit ms"),
            ("clients: server", "req/s", "p50 ms", "p99 ms", "errors", "vs the better peer"),
            ("process", "MB", "vs import floor", "vs a worker's floor"),
            (*COLD_START, "goal"),
            ("goal", "verdict"),
        ),
        SERVERS_S,
    ),
    Tiny(
        "big",
        (
            *("bench/big.py", "--rows", "1000", "--repeat", "1", "--requests", "20"),
            # the cold starts are the same code as peers' (whose tiny run launches them)
            *("--clients", "2", "--rounds", "1", "--cold-repeat", "0"),
            *("--results", "{out}/big.md"),  # never bench/RESULTS.md
        ),
        (
            (
                *("server", "requests", "errors", "req/s", "req/s range", "p50 ms", "p99 ms"),
                *("req/s vs mlflow", "clients per process, each round"),
            ),
            ("step", "median s", "min s", "vs in-process total"),
            ("measure", "MB", "vs file size"),
            COLD_START,
        ),
        SERVERS_S,
    ),
    Tiny(
        "soak",
        ("bench/soak.py", "--sessions", "2", "--minutes", "0.1"),
        (
            ("kind", "runs", "errors", "per s", "p50 ms", "p99 ms"),
            ("check", "expected", "found", "verdict"),
            ("errors (all requests, warm-up included)", "0", "0", "PASS"),
        ),
        SERVERS_S,
    ),
    Tiny(
        "ui_big",
        ("bench/ui_big.py", "--rows", "1000"),
        (("step", "s"),),
        SERVERS_S,
        browser=True,
    ),
    # its launches are the peers' tiny run's: here the script itself (seeding, its table)
    Tiny("cold_start", ("bench/cold_start.py", "--repeat", "0"), (COLD_START,), SERVERS_S),
    Tiny(
        "wsgi_servers",
        (
            "bench/wsgi_servers.py",
            "--repeat",
            "3",
            "--clients",
            "2",
            "--per-client",
            "2",
            "--file-mb",
            "5",
        ),
        (
            ("case", "median ms", "p90 ms"),
            ("clients: server", "req/s", "p50 ms", "p99 ms", "errors"),
            ("server", "largest process MB", "whole tree MB"),
            ("server", "upload s", "MB/s", "peak rise MB", "download s", "MB/s", "peak rise MB"),
        ),
        SERVERS_S,
    ),
    Tiny(
        "run",
        ("bench/run.py", "--repeat", "2", "--repeat-large", "2", "--large-rows", "10"),
        (("case", "rows", "median ms", "p90 ms", "vs in-process", "overhead ms"),),
        SERVERS_S,
    ),
    Tiny(
        "permission_check",
        ("bench/permission_check.py", "--rounds", "20"),
        (("case", "median µs", "p99 µs"),),
        SERVERS_S,
    ),
    Tiny(
        "explain",
        ("-m", "bench.explain", "--rows", "1000", "--repeat", "2"),
        (("explainer", "first call (builds it)", "one row, cached", "predict, one row"),),
        IN_PROCESS_S,
    ),
    Tiny(
        "flavours",
        ("-m", "bench.flavours", "--repeat", "3"),
        (("model", "predict, one row", "explain, one row (cached explainer)"),),
        IN_PROCESS_S,
    ),
    Tiny(
        "result_formats",
        ("bench/result_formats.py", "--rows", "1000", "--repeat", "1"),
        (
            ("writer", "write s", "vs csv", "MB", "vs csv"),
            ("format", "score s", "vs csv", "read s", "vs csv"),
        ),
        IN_PROCESS_S,
    ),
    Tiny(
        "probabilities",
        ("-m", "bench.probabilities", "--rows", "1000", "--repeat", "1", "--calls", "2"),
        (("CSV job, 1,000 rows", "without", "with probabilities", "extra"),),
        IN_PROCESS_S,
    ),
    Tiny(
        "drift",
        ("-m", "bench.drift", "1000"),
        (("rows", "job without drift", "job with drift", "overhead", "drift tally alone"),),
        IN_PROCESS_S,
    ),
    Tiny(
        "evaluation",
        ("-m", "bench.evaluation", "1000", "2000"),
        (("rows", "file", "evaluation", "rows/s", "peak RSS", "vs smallest"), ("rows", "verdict")),
        IN_PROCESS_S,
    ),
]


def _run(tiny: Tiny, out: Path, spark: Future[str], abandon: threading.Event) -> Finished:
    address = spark.result() if tiny.needs_spark else ""
    return run_tiny(tiny, out, address, abandon=abandon)


@pytest.fixture(scope="module")
def tiny_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Finished]]]:
    """The selected runs (``-k soak`` starts only the soak), started together in two lanes;
    each test waits for its own. The Spark Connect server starts meanwhile, in this thread
    (fixtures are not thread-safe); the Spark run's lane waits for its address."""
    chosen = [
        item.callspec.params["tiny"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    out, abandon = tmp_path_factory.mktemp("bench"), threading.Event()
    spark: Future[str] = Future()
    pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="tiny-run")
    try:
        runs = {
            tiny.name: pool.submit(_run, tiny, out / tiny.name, spark, abandon) for tiny in chosen
        }
        if any(tiny.needs_spark for tiny in chosen):
            try:
                spark.set_result(request.getfixturevalue("spark_server").url)
            except Exception as error:  # the Spark run fails with it; the others go on
                spark.set_exception(error)
        yield runs
    finally:  # all done, unless the session ends early (Ctrl-C): then stop what still runs
        abandon.set()
        if not spark.done():
            spark.set_exception(RuntimeError("the session ended"))
        pool.shutdown(cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "tiny",
    [pytest.param(t, id=t.name, marks=[pytest.mark.browser] if t.browser else []) for t in TINY],
)
def test_benchmark_runs_tiny(tiny: Tiny, tiny_runs: dict[str, Future[Finished]]) -> None:
    done = tiny_runs[tiny.name].result()
    print(f"{tiny.name}: {done.seconds:.1f} s")
    where = f"{' '.join(done.command)}\n--- its output ends:\n{done.tail()}"
    assert done.code is not None, f"still running after {tiny.timeout_s:.0f} s: {where}"
    assert done.code == 0, f"exit code {done.code}: {where}"
    missing = [cells for cells in tiny.headers if not header_pattern(cells).search(done.output)]
    assert not missing, f"its report lacks {missing}: {where}"
    assert not done.left_running, f"still running after it exited: {done.left_running}"


def test_every_benchmark_has_a_tiny_run() -> None:
    """A new script in bench/ is run here too; the helpers are libraries, not benchmarks."""
    libraries = {
        "report",
        "servers",
        "load",
        "bigcsv",
        "rss",
        "timing",
        "demo_services",
        "mlserver_peer",
        "granian_entry",  # the console as granian's workers load it, for wsgi_servers
        "cold_limit",  # the bare process cold_start launches (so its tiny run runs it)
    }
    scripts = {path.stem for path in (PROJECT / "bench").glob("*.py")}
    assert scripts - libraries == {tiny.name for tiny in TINY}
