"""Soak: browser-like sessions against the console for minutes: errors, audit, history, memory.

Each session (a thread, its own requests.Session) loads the page as a browser does, then runs a
random mix of JSON and form Predict, CSV jobs and API predicts, noting the runs it made.

    .venv/bin/python bench/soak.py [--sessions 50] [--minutes 5] [--write-results]

The exit code is 1 when a request failed, a prediction is missing from the audit or the
history the server keeps is wrong; the memory check is reported, not counted (a short run
proves nothing there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import requests
from report import Section, mark, render_sections_markdown, render_sections_text, replace_section
from rss import MB, idle_rss, sampling_peak, tree_pids, tree_rss
from run import OUT_DIR, ROOT, project_on_path, stop_on_sigterm
from servers import Server, child_env, free_port, start_server, stop_server, wait_ready

RESULTS = ROOT / "bench" / "RESULTS.md"
TITLE = "Soak: browser-like sessions against python app.py"
KINDS = ("json", "form", "csv", "api")
WEIGHTS = (4, 3, 1, 2)  # a CSV job forks a process and polls: rarer, as in real use
TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 120.0  # a small file's job takes seconds: longer is a hung job, as a user sees it
JOB_POLL_S = 1.0  # the page's poll while a job runs (layouts.jobs.FAST_POLL_MS)
CSV_ROWS = (200, 2000)
CSV_FILES = 8  # per model, made once: the client's CPU goes to requests
MEMORY_SLACK = 0.10  # "flat": the end RSS at most this much above the start
MODELS = [
    {"name": f"main.ml_models.{m}", "ref": "Champion", "version": "1", "alias": "Champion"}
    for m in ("iris_classifier", "customer_churn")
]
IRIS = {
    "sepal_length": (4.3, 7.9),
    "sepal_width": (2.0, 4.4),
    "petal_length": (1.0, 6.9),
    "petal_width": (0.1, 2.5),
}
CITIES = ["Berlin", "Lisbon", "Madrid", "Paris", "Rome"]
WORDS = re.compile(r'"children": "([^"]*)"')
CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)


class Failed(Exception):
    """What a browser user would see as broken: a bad status, an error alert, a lost run."""


def record(model: str, rng: random.Random) -> dict[str, Any]:
    if "churn" not in model:
        return {column: round(rng.uniform(*span), 1) for column, span in IRIS.items()}
    return {
        "age": rng.randint(18, 79),
        "income": round(rng.uniform(8e3, 9e4), 2),
        "tenure_months": rng.randint(0, 119),
        "usage_gb": round(rng.uniform(0, 60), 2),
        "city": rng.choice(CITIES),
        "is_member": rng.random() < 0.4,
    }


def csv_body(model: str, rng: random.Random) -> bytes:
    rows = [record(model, rng) for _ in range(rng.randint(*CSV_ROWS))]
    cell = lambda v: str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    lines = [",".join(["id", *rows[0]])]
    lines += [",".join([str(i), *map(cell, row.values())]) for i, row in enumerate(rows)]
    return ("\n".join(lines) + "\n").encode()


def find_callbacks(base: str) -> dict[str, Any]:
    deps = requests.get(f"{base}/_dash-dependencies", timeout=TIMEOUT_S).json()
    with project_on_path():
        from layouts.answer import FORM_ANSWER, JSON_ANSWER
        from layouts.ids import Csv, History, Json, Page, form_field, form_switch

    def find(outputs: tuple[str, ...], trigger: str) -> dict:
        for dep in deps:
            inputs = [f"{i['id']}.{i['property']}" for i in dep["inputs"]]
            if all(o in dep["output"] for o in outputs) and trigger in inputs:
                return dep
        raise RuntimeError(f"no callback with outputs {outputs} on {trigger}")

    new = f"{History.NEW}.data"
    return {
        "json": find((f"{JSON_ANSWER.result}.children", new), f"{Json.PREDICT}.n_clicks"),
        "form": find((f"{FORM_ANSWER.result}.children", new), f"{Json.FORM_PREDICT}.n_clicks"),
        "csv_check": find((f"{Csv.PREVIEW}.children",), f"{Csv.FILE}.data"),
        "csv_job": find((f"{Csv.START_ERROR}.children",), f"{Csv.PREDICT}.n_clicks"),
        "jobs": find((f"{Page.JOB_TICK}.interval",), f"{Page.JOB_TICK}.n_intervals"),
        "field": form_field,
        "switch": form_switch,
    }


def request_body(dep: dict, inputs: list[Any], states: list[Any]) -> dict[str, Any]:
    """What the renderer posts; a pattern-matching state's value is a list of (id, value)."""
    parts = dep["output"].strip(".").split("...")  # every callback used has several outputs
    sent = [{**spec, "value": v} for spec, v in zip(dep["inputs"], inputs, strict=True)]
    return {
        "output": dep["output"],
        "inputs": sent,
        "outputs": [{"id": p.split(".")[0], "property": p.split(".", 1)[1]} for p in parts],
        "changedPropIds": [f"{sent[0]['id']}.{sent[0]['property']}"],
        "state": [
            [{"id": i, "property": s["property"], "value": v} for i, v in value]
            if s["id"].startswith("{")
            else {**s, "value": value}
            for s, value in zip(dep["state"], states, strict=True)
        ],
    }


def components(tree: Any) -> Iterator[dict]:
    props = tree.get("props") if isinstance(tree, dict) else None
    if isinstance(props, dict):
        yield props
    values = (props if isinstance(props, dict) else tree).values() if isinstance(tree, dict) else ()
    for item in tree if isinstance(tree, list) else values:
        yield from components(item)


class Session:
    """One browser page: its own connection, page load, clicks and the runs it made."""

    def __init__(
        self,
        number: int,
        base: str,
        callbacks: dict[str, Any],
        model: dict[str, Any],
        csv_files: list[bytes],
        keep: int,
        owners: dict[str, int],
        seed: str,
    ) -> None:
        self.number, self.base, self.callbacks, self.selection = number, base, callbacks, model
        self.csv_files, self.keep, self.rng = csv_files, keep, random.Random(seed)
        self.owners = owners  # every run's id → the session that made it, in the order answered
        self.http, self.end_id = requests.Session(), ""
        self.history: list[dict] = []
        self.entries: list[str] = []  # ids of this page's runs, oldest first
        self.clicks, self.made = Counter[str](), Counter[str]()  # made: ok predictions, all
        self.latencies: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: list[tuple[str, str]] = []

    def checked(self, response: requests.Response) -> requests.Response:
        if not 200 <= response.status_code < 300:
            where = f"{response.request.method} {response.request.path_url.split('?')[0]}"
            raise Failed(f"{where} → {response.status_code}: {response.text[:300]}")
        return response

    def get(self, path: str) -> requests.Response:
        return self.checked(self.http.get(self.base + path, timeout=TIMEOUT_S))

    def post(self, dep: dict, inputs: list[Any], states: list[Any], query: str = "") -> Any:
        url = f"{self.base}/_dash-update-component?endId={quote(self.end_id)}{query}"
        body = request_body(dep, inputs, states)
        return self.checked(self.http.post(url, json=body, timeout=TIMEOUT_S))

    def do_page(self) -> None:
        self.end_id = json.loads(CONFIG.search(self.get("/").text).group(1))["end_id"]
        self.get("/_dash-layout").json()
        self.get("/_dash-dependencies")

    def answer(self, response: requests.Response, kind: str = "") -> dict:
        """The outputs; the run's history entry in them is noted before an alert fails."""
        outputs = response.json()["response"] if response.status_code == 200 else {}
        alerts = [p for p in components(outputs) if "error-alert" in str(p.get("className", ""))]
        entry = (outputs.get("history-new") or {}).get("data")
        if kind and not entry and not alerts:
            raise Failed(f"{kind}: the answer carries no history entry")
        if kind and entry:
            self.adopt(entry, kind)
        if alerts:
            words = " ".join(WORDS.findall(json.dumps(alerts[0].get("children"))))
            raise Failed(f"{kind or 'callback'} error alert: {words[:300]}")
        return outputs

    def adopt(self, newest: dict, kind: str) -> None:
        owner = self.owners.setdefault(newest["id"], self.number)
        if owner != self.number or newest["id"] in self.entries:
            raise Failed(f"history: new entry {newest['id']} is not this run's ({owner})")
        self.history = [newest, *self.history][: self.keep]
        self.entries.append(newest["id"])
        if newest["source"].lower() != kind or newest["outcome"] != "ok":
            raise Failed(
                f"history: new {newest['source']} entry {newest['outcome']}: "
                f"{newest.get('message')}"
            )
        self.made[kind] += 1

    def records(self) -> list[dict[str, Any]]:
        return [record(self.selection["name"], self.rng) for _ in range(self.rng.randint(1, 5))]

    def do_json(self) -> None:
        self.clicks["json"] += 1
        states = [json.dumps(self.records(), indent=2), self.selection]
        self.answer(self.post(self.callbacks["json"], [self.clicks["json"]], states), "json")

    def do_form(self) -> None:
        """As the form sends it: each text field's value as typed, booleans as switches."""
        values, field, switch = self.records()[0], self.callbacks["field"], self.callbacks["switch"]
        fields = [(field(c), str(v)) for c, v in values.items() if not isinstance(v, bool)]
        switches = [(switch(c), v) for c, v in values.items() if isinstance(v, bool)]
        self.clicks["form"] += 1
        states = [
            fields,
            [(i, i) for i, _ in fields],
            switches,
            [(i, i) for i, _ in switches],
            self.selection,
        ]
        self.answer(self.post(self.callbacks["form"], [self.clicks["form"]], states), "form")

    def do_csv(self) -> None:
        c, name = self.callbacks, f"soak-{self.number}-{self.clicks['csv'] + 1}.csv"
        upload = self.checked(
            self.http.post(
                f"{self.base}/api/uploads?filename={name}",
                data=self.rng.choice(self.csv_files),
                headers={"Content-Type": "text/csv"},
                timeout=TIMEOUT_S,
            )
        ).json()
        file = {"file_id": upload["file_id"], "filename": upload["filename"]}
        checked = self.answer(self.post(c["csv_check"], [file, self.selection], []))
        if checked["csv-predict"]["disabled"]:  # Predict stays disabled for a refused file
            raise Failed(f"csv: the check refused {name}")
        run = self.clicks["csv"] = self.clicks["csv"] + 1
        started = self.answer(self.post(c["csv_job"], [run], [file, self.selection, "csv", False]))
        job = (started.get("page-open-job") or {}).get("data")
        if not job:
            raise Failed(f"csv: Predict from CSV started no job: {json.dumps(started)[:300]}")
        # every job panel's "shown" store, as the page sends them (the jobs list's last)
        panels = [spec["id"] for spec in c["jobs"]["state"][:-1]]
        deadline, ticks, shown = time.monotonic() + JOB_TIMEOUT_S, 0, [None] * len(panels)
        while time.monotonic() < deadline:  # as the page polls: the job it opened, its file
            time.sleep(JOB_POLL_S)
            ticks += 1
            outputs = self.answer(self.post(c["jobs"], [ticks, job, file], [*shown, None]))
            shown = [
                (outputs.get(panel) or {}).get("data", s)
                for panel, s in zip(panels, shown, strict=True)
            ]
            state = (shown[panels.index("csv-job-shown")] or ":").split(":", 1)[1]
            if state in ("succeeded", "failed", "cancelled"):
                if state != "succeeded":
                    raise Failed(f"csv: the job for {name} ended {state}")
                self.made["csv"] += 1
                return
        raise Failed(f"csv: no result for {name} in {JOB_TIMEOUT_S:.0f} s")

    def do_api(self) -> None:
        records, url = self.records(), f"{self.base}/api/models/{self.selection['name']}"
        answer = self.checked(
            self.http.post(f"{url}/Champion/predict", json=records, timeout=TIMEOUT_S)
        ).json()
        if len(answer.get("predictions", [])) != len(records):
            raise Failed(f"api: {len(records)} records, answer {json.dumps(answer)[:300]}")
        self.made["api"] += 1

    def attempt(self, kind: str, timed: bool) -> None:
        started = time.perf_counter()
        try:
            if kind != "page" and not self.end_id:
                self.do_page()
            getattr(self, f"do_{kind}")()
        except Exception as error:  # a client-side slip too: the thread must reach the barrier
            detail = str(error) if isinstance(error, Failed) else repr(error)
            self.errors.append((kind, f"session {self.number} {kind}: {detail}"))
            return
        if timed:
            self.latencies[kind].append((time.perf_counter() - started) * 1000)

    def run(self, ready: threading.Barrier, go: threading.Event, stop: threading.Event) -> None:
        with self.http:
            for kind in ("page", *KINDS):  # warm-up: counted for the audit, not timed
                self.attempt(kind, timed=False)
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.wait()
            go.wait()
            while not stop.is_set():
                self.attempt(self.rng.choices(KINDS, WEIGHTS)[0], timed=True)

    def history_intact(self) -> bool:
        """Every entry this page added is its own, newest first, none lost or duplicated."""
        ids = [e["id"] for e in self.history]
        return ids == self.entries[::-1][: self.keep] and all(
            self.owners.get(i) == self.number for i in ids
        )


def count_audit(data_dir: Path) -> tuple[Counter[str], str]:
    """ok predict rows by source, and what else the audit left: other outcomes, spool lines."""
    with contextlib.closing(sqlite3.connect(data_dir / "audit.db")) as db:
        query = "SELECT source, outcome, COUNT(*) FROM audit_log WHERE action = 'predict'"
        rows = db.execute(query + " GROUP BY source, outcome").fetchall()
    left = [f"{f.name} {len(f.read_text().splitlines())}" for f in data_dir.glob("audit-spool/*")]
    ok = Counter({source: n for source, outcome, n in rows if outcome == "ok"})
    other = sum(n for *_, n in rows) - ok.total()
    note = f"audit: {other} predict rows not ok; lines in audit-spool/: {', '.join(left) or 'none'}"
    return ok + Counter(total=ok.total()), note


def kept_runs(data_dir: Path) -> list[str]:
    """The ids of the runs the server keeps (without sign-in, every session is one person)."""
    with contextlib.closing(sqlite3.connect(data_dir / "audit.db")) as db:
        return [run_id for (run_id,) in db.execute("SELECT run_id FROM console_runs")]


def runs_right(sessions: list[Session], kept: list[str], keep: int) -> bool:
    """The server keeps the person's newest ``keep`` runs: that many, each one a session
    made, the last answered among them."""
    made = sessions[0].owners if sessions else {}  # every session's runs, as answered
    last = next(reversed(made), None)
    return len(kept) == min(keep, len(made)) and set(kept) <= set(made) and last in [*kept, None]


def counted_right(sessions: list[Session], audit: Counter[str], kept: list[str], keep: int) -> bool:
    """Every prediction made has its audit row, every page's answers carried its own runs,
    and the server keeps the newest of them."""
    made = sum((s.made for s in sessions), Counter())
    return (
        all(made[k] == audit[k] for k in KINDS)
        and all(s.history_intact() for s in sessions)
        and runs_right(sessions, kept, keep)
    )


def start_console(
    stack: contextlib.ExitStack, data_dir: Path, args: argparse.Namespace
) -> tuple[Server, float]:
    # Without sign-in all pages are one user: each page gets the job limit a person would.
    env = child_env(
        PORT=str(port := free_port()),
        APP_DATA_DIR=str(data_dir),
        HISTORY_SIZE=str(args.keep),
        JOBS_PER_USER=str(args.sessions),
    )
    server = start_server(
        stack,
        "soak-console",
        [sys.executable, "app.py"],
        port=port,
        env=env,
        cwd=ROOT,
        log_dir=OUT_DIR,
    )
    ready_s = wait_ready(server, "/api/health")
    print(f"console ready in {ready_s:.1f} s at {server.base_url}; log {server.log_path}")
    return server, ready_s


def stop_console(server: Server, first: set[int], rss: dict[str, int]) -> int | None:
    """SIGTERM and time to stop, so the workers flush the audit; before that, the processes
    started after the warm-up and their idle RSS go into ``rss``. The exit code when it had
    stopped on its own during the run."""
    pid = server.process.pid
    if (exited := server.process.poll()) is None:
        rss["procs_end"] = len(tree_pids(pid)) - 1
        rss["later"] = idle_rss(pid, 1.0, tree_pids(pid) - first)
        os.killpg(pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=45)  # past gunicorn's 30 s: workers flush the audit
    stop_server(server)  # whatever is left of it
    return exited


def soak(
    args: argparse.Namespace, data_dir: Path
) -> tuple[list[Section], list[str], list[str], bool]:
    rng = random.Random(0)  # the same files every run
    files = [[csv_body(m["name"], rng) for _ in range(CSV_FILES)] for m in MODELS]
    with contextlib.ExitStack() as stack:
        server, ready_s = start_console(stack, data_dir, args)
        callbacks = find_callbacks(server.base_url)
        owners: dict[str, int] = {}
        sessions = [
            Session(
                n,
                server.base_url,
                callbacks,
                MODELS[n % 2],
                files[n % 2],
                args.keep,
                owners,
                f"soak-{n}",
            )
            for n in range(args.sessions)
        ]
        ready = threading.Barrier(args.sessions + 1, timeout=3 * JOB_TIMEOUT_S)
        go, stop = threading.Event(), threading.Event()
        threads = [
            threading.Thread(target=s.run, args=(ready, go, stop), daemon=True) for s in sessions
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        rss = {"start": idle_rss(pid := server.process.pid, 2.0)}
        first = tree_pids(pid)  # a leak shows in these (jobs left running in the count)
        rss["procs"] = len(first) - 1
        print(f"warm-up done; RSS {rss['start'] / MB:.0f} MB; soaking {args.minutes} min")
        timeline, started = [rss["start"]], time.perf_counter()
        go.set()
        with sampling_peak(pid) as peak:
            for _ in range(10):  # the RSS at every tenth of the run shows drift, not just ends
                time.sleep(args.minutes * 6)
                timeline.append(tree_rss(pid))
            stop.set()
            seconds = time.perf_counter() - started  # runs in flight at the stop still count
            for thread in threads:
                thread.join()
        rss.update(end=idle_rss(pid, 2.0, first), peak=peak.peak, procs_end=0, later=0)
        exited = stop_console(server, first, rss)
        audit, note = count_audit(data_dir)
        kept = kept_runs(data_dir)
    alive = "" if exited is None else f"; IT STOPPED ON ITS OWN DURING THE RUN (code {exited})"
    notes = [f"console: python app.py, fresh APP_DATA_DIR, ready in {ready_s:.1f} s{alive}"]
    errors = [text for s in sessions for _, text in s.errors]
    report = [
        load_section(sessions, seconds, args),
        checks_section(sessions, audit, kept, note, rss, timeline, args),
    ]
    return report, notes, errors, counted_right(sessions, audit, kept, args.keep)


def load_section(sessions: list[Session], seconds: float, args: argparse.Namespace) -> Section:
    failed, rows = [error for s in sessions for error in s.errors], []
    for kind in (*KINDS, "all"):
        times = [ms for s in sessions for k in KINDS if kind in (k, "all") for ms in s.latencies[k]]
        p50, p99 = np.percentile(times, [50, 99]) if times else (np.nan, np.nan)
        rows.append(
            [
                kind,
                f"{len(times):,}",
                str(sum(kind in (k, "all") for k, _ in failed)),
                f"{len(times) / seconds:.1f}",
                f"{p50:.0f}",
                f"{p99:.0f}",
            ]
        )
    interval = int(JOB_POLL_S * 1000)
    return Section(
        "Throughput and latency per kind (timed part)",
        ["kind", "runs", "errors", "per s", "p50 ms", "p99 ms"],
        rows,
        [
            f"{args.sessions} sessions × {args.minutes} min ({seconds:.0f} s), weights "
            + ", ".join(f"{k} {w}" for k, w in zip(KINDS, WEIGHTS, strict=True))
            + ", after a warm-up of one each; csv: upload, check, "
            f"job polled every {interval} ms to its result",
        ],
    )


def checks_section(
    sessions: list[Session],
    audit: Counter[str],
    kept: list[str],
    note: str,
    rss: dict[str, int],
    timeline: list[int],
    args: argparse.Namespace,
) -> Section:
    failed = [error for s in sessions for error in s.errors]
    distinct = Counter(re.sub(r"soak-\d+-\d+", "soak-…", t.split(": ", 1)[1]) for _, t in failed)
    made = sum((s.made for s in sessions), Counter())
    made["total"], intact = made.total(), sum(s.history_intact() for s in sessions)
    start, end = rss["start"] / MB, rss["end"] / MB
    rows = [["errors (all requests, warm-up included)", "0", str(len(failed)), mark(not failed)]]
    rows += [
        [f"audit predict ok, {k}", f"{made[k]:,}", f"{audit[k]:,}", mark(made[k] == audit[k])]
        for k in (*KINDS, "total")
    ]
    rows += [
        [
            "pages whose answers carried their own runs",
            str(len(sessions)),
            str(intact),
            mark(intact == len(sessions)),
        ],
        [
            f"runs kept on the server (the newest {args.keep}, the last made among them)",
            f"{min(args.keep, len(sessions[0].owners) if sessions else 0):,}",
            f"{len(kept):,}",
            mark(runs_right(sessions, kept, args.keep)),
        ],
        [
            "RSS MB idle, processes of the warm-up: end (start+10%)",
            f"≤ {start * (1 + MEMORY_SLACK):.0f}",
            f"{end:.0f} ({start:.0f})",
            mark(0 < end <= start * (1 + MEMORY_SLACK)),
        ],
    ]
    return Section(
        "Checks",
        ["check", "expected", "found", "verdict"],
        rows,
        [
            note + "; audit.db counted after SIGTERM",
            "RSS every tenth of the run (MB): "
            + " ".join(f"{v / MB:.0f}" for v in timeline)
            + f"; peak {rss['peak'] / MB:.0f} (forked jobs counted whole); "
            f"processes under the master: {rss['procs']} after warm-up, "
            f"{rss['procs_end']} at the end (those started later, a worker's first "
            f"job's fork server say: {rss['later'] / MB:.0f} MB idle)",
            *(f"error ×{n}: {text}" for text, n in distinct.most_common(5)),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent browser pages")
    parser.add_argument("--minutes", type=float, default=5.0, help="timed part, after warm-up")
    parser.add_argument("--keep", type=int, default=50, help="HISTORY_SIZE for the console")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.minutes <= 0:
        parser.error("at least one session and a positive number of minutes")
    stop_on_sigterm()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-app-data-") as tmp:
        parts, notes, errors, counted = soak(args, Path(tmp) / "data")  # fresh: the app seeds it
    notes.append(
        f"whole run: {time.monotonic() - started:.0f} s; command: bench/soak.py "
        f"--sessions {args.sessions} --minutes {args.minutes}"
    )
    print("\n" + render_sections_text(parts, notes))
    (OUT_DIR / "soak.md").write_text(markdown := render_sections_markdown(TITLE, parts, notes))
    (OUT_DIR / "soak-errors.txt").write_text("".join(f"{text}\n" for text in errors))
    if args.write_results:
        replace_section(RESULTS, f"Soak: {TITLE.split(': ', 1)[1]} (bench/soak.py)", markdown)
        print(f"Soak section written to {RESULTS.relative_to(ROOT)}")
    return 0 if counted and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
