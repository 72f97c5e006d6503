"""The serve-parity harness: the same request to the console's API and to ``mlflow models
serve`` of the same model, and what each answered.

One serve process per zoo model (about 6 s and a few hundred MB each), all started at once;
the console runs in this process (Flask's test client).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import requests

from tests.conftest import free_port
from tests.processes import clean_environment, running
from tests.waiting import exited, until
from tests.zoo_models import ARRAYS, NO_SIGNATURE, SCALARS, TENSOR

SERVE_READY_SECONDS = 90
DATAFRAME_SPLIT, DATAFRAME_RECORDS = "dataframe_split", "dataframe_records"
INSTANCES, INPUTS = "instances", "inputs"
FORMS = (DATAFRAME_SPLIT, DATAFRAME_RECORDS, INSTANCES, INPUTS)


@dataclass(frozen=True)
class Answer:
    """What a server said: its status and its predictions (or its error code)."""

    status: int
    predictions: Any = None
    error: str | None = None

    @property
    def refused(self) -> bool:
        return 400 <= self.status < 500


@dataclass(frozen=True)
class Case:
    """One request: a model, a JSON form, its body; ``rows``: the records it stands for."""

    model: str
    form: str
    body: dict[str, Any]
    with_params: bool = False
    note: str = ""

    @property
    def name(self) -> str:
        params = " + params" if self.with_params else ""
        extra = f" ({self.note})" if self.note else ""
        return f"{self.model} {self.form}{params}{extra}"


def in_form(form: str, records: list[dict[str, Any]]) -> Any:
    """``records`` written in one of the scoring protocol's JSON forms."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    if form == DATAFRAME_SPLIT:
        return {"columns": columns, "data": [[r.get(c) for c in columns] for r in records]}
    if form == INPUTS:
        return {c: [r.get(c) for r in records] for c in columns}
    return records


SCALAR_ROWS = [
    {"text": "hello", "when": "2024-03-01T10:00:00", "blob": "aGVsbG8=", "extra": 2.5},
    {"text": "bye", "when": "2023-12-31T00:00:00", "blob": "Ynll", "extra": -1.0},
]
ARRAY_ROWS = [
    {
        "tags": ["x", "y"],
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
    },
    {"tags": [], "messages": [{"role": "user", "content": "yo"}]},
]
UNTYPED_ROWS = [{"a": 1, "b": 2.5}, {"a": 3, "b": 4.0}]
TENSOR_ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]
PARAMS = {SCALARS: {"suffix": "?", "scale": 2.0}}
UNKNOWN_PARAMS = {"suffix": "?"}  # a model without a params schema: ignored by both


def cases() -> list[Case]:
    """Every JSON form of the protocol, with and without params, for every zoo model; then
    rows with something particular, and inputs each server should refuse."""
    found = []
    for model, records in (
        (SCALARS, SCALAR_ROWS),
        (ARRAYS, ARRAY_ROWS),
        (NO_SIGNATURE, UNTYPED_ROWS),
    ):
        for form in FORMS:
            for with_params in (False, True):
                body = {form: in_form(form, records)}
                if with_params:
                    body["params"] = PARAMS.get(model, UNKNOWN_PARAMS)
                found.append(Case(model, form, body, with_params))
    for form, data in (
        (DATAFRAME_SPLIT, {"data": TENSOR_ROWS}),
        (DATAFRAME_RECORDS, [dict(zip("abc", row, strict=True)) for row in TENSOR_ROWS]),
        (INSTANCES, TENSOR_ROWS),
        (INPUTS, TENSOR_ROWS),
    ):
        for with_params in (False, True):
            body = {form: data, **({"params": UNKNOWN_PARAMS} if with_params else {})}
            found.append(Case(TENSOR, form, body, with_params))
    return found + particular() + refusals()


def particular() -> list[Case]:
    """Rows that are fine, written the way real clients write them."""
    empty = [SCALAR_ROWS[0], {**SCALAR_ROWS[1], "extra": None}]
    left_out = [SCALAR_ROWS[0], {k: v for k, v in SCALAR_ROWS[1].items() if k != "extra"}]
    two_dates = [SCALAR_ROWS[0], {**SCALAR_ROWS[1], "when": "2023-12-31"}]
    return [
        Case(
            SCALARS,
            DATAFRAME_SPLIT,
            {DATAFRAME_SPLIT: in_form(DATAFRAME_SPLIT, empty)},
            note="an optional value null: a NaN answer",
        ),
        *(
            Case(SCALARS, form, {form: left_out}, note="an optional column left out")
            for form in (DATAFRAME_RECORDS, INSTANCES)
        ),
        Case(
            SCALARS,
            DATAFRAME_RECORDS,
            {DATAFRAME_RECORDS: two_dates},
            note="dates in two ISO 8601 forms",
        ),
    ]


def refusals() -> list[Case]:
    hello = SCALAR_ROWS[0]
    records = DATAFRAME_RECORDS
    return [
        Case(
            SCALARS,
            records,
            {records: [{**hello, "blob": "hello!"}]},
            note="text that is not base64",
        ),
        Case(
            SCALARS,
            records,
            {records: [{**hello, "when": "not a date"}]},
            note="a date that is not one",
        ),
        Case(
            SCALARS,
            records,
            {records: [{"when": "2024-01-01", "blob": "eA=="}]},
            note="a required column missing",
        ),
        Case(
            SCALARS,
            records,
            {records: [hello], "params": {"scale": "big"}},
            note="a parameter of the wrong type",
        ),
        Case(
            ARRAYS,
            records,
            {records: [{**ARRAY_ROWS[0], "tags": "x"}]},
            note="an array column given one value",
        ),
        Case(TENSOR, INPUTS, {INPUTS: [[1.0, 2.0]]}, note="rows of two values for three"),
        Case(TENSOR, INPUTS, {INPUTS: [["a", "b", "c"]]}, note="text for numbers"),
    ]


# -- the verdicts ---------------------------------------------------------------------------


class Kind(StrEnum):
    SAME = "same as serve"
    REFUSED = "refused, as serve refuses"
    BETTER = "documented improvement"


REFUSES = "refuses (4xx)"


@dataclass(frozen=True)
class Verdict:
    """What the console must answer. ``BETTER``: the console answers ``console`` where serve
    answers ``serve`` (its predictions, or ``REFUSES``), for ``reason``; both are held, so a
    change on either side shows here first."""

    kind: Kind
    reason: str = ""
    console: Any = None
    serve: Any = None


BYTES = (
    "bytes are base64-decoded in every JSON form; serve decodes them only in dataframe_split "
    "and dataframe_records, and hands the model the base64 text itself in instances and inputs"
)
NAN = (
    "a NaN answer is written null (JSON has no NaN); serve writes a bare NaN, which strict "
    "JSON readers refuse"
)
LEFT_OUT = (
    "a record may leave an optional column out; serve's instances parser makes that column "
    "shorter than the others and refuses the request"
)
TWO_DATES = (
    "each date is read on its own; serve (pandas) takes one format from the first row and "
    "refuses 2023-12-31 after 2024-03-01T10:00:00"
)
ARRAY_FORMS = "array columns are read in every form; serve refuses them in instances and inputs"
SERIES = (
    "an answer of one unnamed column (a pandas Series) is one value per row, as serve writes a "
    'numpy array; serve writes each as {"0": value}'
)
UNTYPED_FORMS = (
    "without a signature the rows reach the model as a table in every form, so the same rows "
    "get the same answer; serve hands instances and inputs over as a dict of arrays"
)
UNTYPED_SUMS = [3.5, 7.0]


def scalar_answer(params: bool, sizes=(5, 3), last: float | None = -1.0) -> list[dict]:
    suffix, scale = ("?", 2.0) if params else ("!", 1.0)
    scaled = [2.5 * scale, None if last is None else last * scale]
    return [
        {"shout": f"{text}{suffix}", "year": year, "size": size, "scaled": value}
        for text, year, size, value in zip(
            ("HELLO", "BYE"), (2024, 2023), sizes, scaled, strict=True
        )
    ]


def with_nan(answer: list[dict]) -> list[dict]:
    return [
        {k: math.nan if v is None and k == "scaled" else v for k, v in row.items()}
        for row in answer
    ]


def verdict_of(case: Case) -> Verdict:
    """The table the harness holds the console to (docs/api.md shows it)."""
    if case in refusals():
        return Verdict(Kind.REFUSED)
    dataframe_form = case.form in (DATAFRAME_SPLIT, DATAFRAME_RECORDS)
    if case.model == SCALARS:
        return _scalar_verdict(case, dataframe_form)
    if case.model == ARRAYS:
        if dataframe_form:
            return Verdict(Kind.SAME)
        return Verdict(Kind.BETTER, ARRAY_FORMS, ARRAY_ANSWER, REFUSES)
    if case.model == NO_SIGNATURE:
        if dataframe_form:
            return Verdict(Kind.BETTER, SERIES, UNTYPED_SUMS, [{"0": v} for v in UNTYPED_SUMS])
        return Verdict(Kind.BETTER, UNTYPED_FORMS, UNTYPED_SUMS, {"a": [1, 3], "b": [2.5, 4.0]})
    return Verdict(Kind.SAME)


def _scalar_verdict(case: Case, dataframe_form: bool) -> Verdict:
    if case.note == "an optional value null: a NaN answer":
        console = scalar_answer(False, last=None)
        return Verdict(Kind.BETTER, NAN, console, with_nan(console))
    if case.note == "an optional column left out":
        console = scalar_answer(False, last=None)
        if dataframe_form:
            return Verdict(Kind.BETTER, NAN, console, with_nan(console))
        return Verdict(Kind.BETTER, LEFT_OUT, console, REFUSES)
    if case.note:  # two date forms
        return Verdict(Kind.BETTER, TWO_DATES, scalar_answer(False), REFUSES)
    if dataframe_form:
        return Verdict(Kind.SAME)
    serve = scalar_answer(case.with_params, sizes=(8, 4))
    return Verdict(Kind.BETTER, BYTES, scalar_answer(case.with_params), serve)


ARRAY_ANSWER = [
    {"reply": "you said hi", "roles": ["system", "user"], "tags": {"count": 2, "first": "x"}},
    {"reply": "you said yo", "roles": ["user"], "tags": {"count": 0, "first": None}},
]


def parity_table() -> str:
    """The Markdown table of every case and its verdict, as docs/api.md shows it."""
    lines = [
        "| model | form | params | case | verdict | why |",
        "|---|---|---|---|---|---|",
    ]
    for case in cases():
        verdict = verdict_of(case)
        lines.append(
            f"| `{case.model}` | `{case.form}` | {'yes' if case.with_params else 'no'} "
            f"| {case.note or 'rows of every column type it takes'} | {verdict.kind.value} "
            f"| {verdict.reason} |"
        )
    return "\n".join(lines)


# -- the servers -----------------------------------------------------------------------------


@dataclass
class Serve:
    model: str
    url: str


@contextlib.contextmanager
def serving(folders: dict[str, Path], logs: Path) -> Iterator[dict[str, Serve]]:
    """``mlflow models serve --env-manager local`` for each model, all starting at once, each
    stopped (with its workers) at the end."""
    bin_dir = str(Path(sys.executable).parent)  # serve needs uvicorn from this venv on PATH
    env = clean_environment(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    with contextlib.ExitStack() as stack:
        servers = {}
        processes = {}
        for model, folder in folders.items():
            port = free_port()
            command = [
                str(Path(bin_dir) / "mlflow"),
                "models",
                "serve",
                "-m",
                str(folder),
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "-p",
                str(port),
            ]
            log = logs / f"serve-{model}.log"
            processes[model] = stack.enter_context(running(command, env, log, cwd=logs))
            servers[model] = Serve(model, f"http://127.0.0.1:{port}")
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda m: _wait_ready(servers[m], processes[m]), servers))
        yield servers


def _wait_ready(server: Serve, process) -> None:
    until(
        lambda: _pings(server.url),
        SERVE_READY_SECONDS,
        poll=0.2,
        msg=f"mlflow models serve of {server.model} ready",
        gone=exited(process, f"mlflow models serve of {server.model}"),
    )


def _pings(url: str) -> bool:
    with contextlib.suppress(requests.ConnectionError):
        return requests.get(f"{url}/ping", timeout=5).status_code == 200
    return False


def serve_answer(server: Serve, body: dict[str, Any]) -> Answer:
    response = requests.post(
        f"{server.url}/invocations",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    return _answer(response.status_code, response.text)


def console_answer(client, model: str, body: dict[str, Any]) -> Answer:
    response = client.post(
        f"/api/models/{model}/1/predict", data=json.dumps(body), content_type="application/json"
    )
    return _answer(response.status_code, response.get_data(as_text=True))


def _answer(status: int, text: str) -> Answer:
    try:
        body = json.loads(text)  # serve writes NaN bare: the standard library reads it
    except ValueError:
        return Answer(status, error=text[:200])
    if status == 200:
        return Answer(status, body.get("predictions"))
    return Answer(status, error=body.get("error_code") if isinstance(body, dict) else None)


# -- comparing -------------------------------------------------------------------------------


def same(ours: Any, theirs: Any) -> bool:
    """Equal as JSON values, numbers within a relative 1e-9."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(same, ours, theirs))
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        if math.isnan(ours) or math.isnan(theirs):
            return math.isnan(ours) and math.isnan(theirs)
        return math.isclose(ours, theirs, rel_tol=1e-9)
    return ours == theirs


def nan_as_null(value: Any) -> Any:
    """What the console writes for serve's bare ``NaN`` (not JSON): ``null``."""
    if isinstance(value, dict):
        return {k: nan_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_as_null(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
