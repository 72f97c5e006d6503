"""Callbacks called as plain functions, on the real services and registry."""

from __future__ import annotations

import io
from contextvars import copy_context
from typing import Any

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from flask import g

from callbacks.config_tab import ConfigCallbacks, with_typed
from callbacks.csv_tab import CsvCallbacks
from callbacks.history_tab import HistoryCallbacks
from layouts.ids import Config, Page
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame


@pytest.fixture(autouse=True)
def signed_in(flask_app):
    """Callbacks run inside a request whose caller the server has decided."""
    with flask_app.test_request_context("/"):
        g.model_console_caller = LOCAL_CALLER
        yield


IRIS = {"name": IRIS_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}
CHURN = {"name": CHURN_MODEL, "ref": "1", "version": "1", "alias": None}


def text_of(component: Any) -> str:
    """All the text a user would read in a rendered component tree."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def triggered_by(component_id: str, prop: str, call, *args):
    """Run a callback as Dash would after ``component_id.prop`` changed."""

    def run():
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": f"{component_id}.{prop}", "value": 1}])
        )
        return call(*args)

    return copy_context().run(run)


def test_typed_values_join_the_options():
    assert with_typed(["a", "b"], "c", "a", None) == ["a", "b", "c"]
    assert with_typed([{"label": "A", "value": "a"}], "a") == [{"label": "A", "value": "a"}]


def test_load_button_loads_and_remembers_the_selection(services):
    callbacks = ConfigCallbacks(services)
    status, details, selection, name, ref = triggered_by(
        Config.LOAD, "n_clicks", callbacks.load, 1, "/", IRIS_MODEL, "Champion", None
    )
    assert f"Loaded {IRIS_MODEL} version 1 (alias Champion)" in text_of(status)
    assert "sepal_length" in text_of(details)
    assert selection == IRIS
    assert (name, ref) == (IRIS_MODEL, "Champion")


def test_load_failure_shows_the_error_and_keeps_the_loaded_model(services):
    callbacks = ConfigCallbacks(services)
    status, details, selection, *_ = triggered_by(
        Config.LOAD, "n_clicks", callbacks.load, 1, "/", "main.ml_models.nope", "1", IRIS
    )
    assert "Model not found" in text_of(status)
    assert "Nothing changed: predictions still use" in text_of(status)
    assert f"{IRIS_MODEL} v1 @Champion" in text_of(status)
    assert details is no_update and selection is no_update  # the card of v1 stays


def test_page_load_restores_this_sessions_model(services):
    callbacks = ConfigCallbacks(services)
    outputs = triggered_by(Page.URL, "pathname", callbacks.load, None, "/", None, None, CHURN)
    assert outputs[2]["name"] == CHURN_MODEL
    nothing = triggered_by(Page.URL, "pathname", callbacks.load, None, "/", None, None, None)
    assert nothing == (no_update,) * 5


def test_version_options_list_aliases_latest_and_versions(services):
    options = ConfigCallbacks(services).version_options(IRIS_MODEL, "Staging", None)
    values = [o["value"] if isinstance(o, dict) else o for o in options]
    assert values == ["Challenger", "Champion", "latest", "2", "1", "Staging"]


@pytest.fixture
def csv_service(services):
    return services.files


@pytest.fixture
def seal(services):
    return services.seal


@pytest.fixture
def csv_callbacks(services):
    return CsvCallbacks(
        services.files, services.jobs, services.seal, lambda file_id: f"/api/files/{file_id}"
    )


PAGE_LOAD = "0123456789abcdef" * 2


def _stored(csv_service, frame, name: str = "customers.csv") -> dict[str, str]:
    stored = csv_service.upload(LOCAL_CALLER, name, io.BytesIO(frame.to_csv(index=False).encode()))
    return {"file_id": stored.file_id, "filename": stored.filename}


def test_csv_check_score_and_download_link(csv_callbacks, csv_service, seal):
    customers = churn_frame(12, seed=8)
    customers.insert(0, "customer_id", range(12))
    customers.loc[3, "age"] = None  # one bad row: scored as an error, not a failed file
    file_info = _stored(csv_service, customers)
    preview, _grid, disabled, result, result_file = csv_callbacks.check_file(file_info, CHURN)
    assert "12 rows, 7 columns" in text_of(preview) and "comma-separated" in text_of(preview)
    assert disabled is False and result_file is None  # a new file clears the result before
    assert "age is empty in row 5." in text_of(preview)  # the header is row 1
    progress: list[tuple] = []
    sealed = seal.seal(LOCAL_CALLER, f"{PAGE_LOAD}-1")
    result, download, history = csv_callbacks.score_file(
        progress.append, sealed, 1, file_info, CHURN, [], PAGE_LOAD
    )
    assert "12 rows scored" in text_of(result) and f"{CHURN_MODEL} v1" in text_of(result)
    assert "1 row could not be scored" in text_of(result)
    assert progress[0][1] == "Starting…" and progress[-1][0] == 100
    entry = history[0]
    assert (entry["source"], entry["failed_rows"], entry["file"]) == ("CSV", 1, "customers.csv")
    assert set(entry["results"]) == {"csv", "parquet"}  # both written in the one pass
    href, style = csv_callbacks.offer_download(download, "csv")
    assert href == f"/api/files/{download['outputs']['csv']}" and "disabled" not in style
    parquet_href, _ = csv_callbacks.offer_download(download, "parquet")  # no scoring again
    assert parquet_href == f"/api/files/{download['outputs']['parquet']}"
    stored = csv_service.store.describe(LOCAL_CALLER, download["outputs"]["csv"])
    assert stored.filename == "customers_with_predictions.csv"
    content = csv_service.store.path(LOCAL_CALLER, stored.file_id).read_text()
    header = content.splitlines()[0].replace('"', "")
    assert header == (
        "customer_id,age,income,tenure_months,usage_gb,city,is_member,"
        "prediction,prediction_label,error"
    )


def test_csv_with_missing_columns_cannot_be_predicted(csv_callbacks, csv_service):
    file_info = _stored(csv_service, churn_frame(3).drop(columns=["city", "age"]))
    preview, _, disabled, *_ = csv_callbacks.check_file(file_info, CHURN)
    assert "Missing required columns:  age, city" in text_of(preview)
    assert disabled is True


def test_a_file_id_from_elsewhere_leads_nowhere(csv_callbacks):
    for file_id in ("0" * 32, "../../etc/passwd"):
        preview, _, disabled, *_ = csv_callbacks.check_file({"file_id": file_id}, CHURN)
        assert "no longer available" in text_of(preview) and disabled is True


def test_no_file_yet(csv_callbacks):
    preview, _, disabled, *_ = csv_callbacks.check_file(None, CHURN)
    assert "Upload a CSV file" in text_of(preview) and disabled is True
    assert csv_callbacks.offer_download(None, "csv")[0] is None


def test_history_lists_every_kind_of_run_up_to_its_length(services):
    from dataclasses import replace

    from services.history import CANCELLED, failure_entry, with_entry

    short = replace(services, settings=replace(services.settings, history_size=6))
    callbacks = HistoryCallbacks(short, lambda file_id: f"/api/files/{file_id}")
    history: list = []
    for number in range(7):
        history = with_entry(history, failure_entry("JSON", IRIS, f"error {number}"), 6)
    history = with_entry(
        history,
        failure_entry(
            "CSV",
            CHURN,
            "Cancelled: nothing was written.",
            file={"filename": "c.csv"},
            fmt="parquet",
            outcome=CANCELLED,
        ),
        6,
    )
    shown = text_of(callbacks.show(history))
    assert len(history) == 6 and "error 6" in shown and "error 1" not in shown
    assert "cancelled" in shown and "c.csv · parquet" in shown and f"{CHURN_MODEL} v1" in shown
    assert callbacks.clear(1) == ([], None)
    assert "No predictions yet" in text_of(callbacks.show([]))


def test_a_broken_job_says_so_and_offers_nothing(csv_callbacks):
    result, download, history = csv_callbacks.job_failed(RuntimeError("worker died"))
    assert "Scoring stopped with an unexpected error" in text_of(result)
    assert download is None and history is no_update
    message, history = csv_callbacks.cancelled(1, {"filename": "c.csv"}, CHURN, [], "csv")
    assert "Cancelled: nothing was written" in text_of(message)
    assert (history[0]["outcome"], history[0]["file"]) == ("cancelled", "c.csv")


def test_a_job_killed_midway_is_reported_as_failed(csv_callbacks, csv_service, seal):
    """A job process killed from outside (out of memory) writes nothing at all; when the
    page sees the job stop, only the missing end mark tells the story."""
    file_info = _stored(csv_service, churn_frame(20, seed=3))
    stopped, history = csv_callbacks.explain_stop(
        "stopped", PAGE_LOAD, 7, None, file_info, CHURN, []
    )
    assert "stopped before it finished" in text_of(stopped)
    assert "ran out of memory" in text_of(stopped)
    assert history[0]["outcome"] == "failed" and history[0]["file"] == "customers.csv"

    # The same run finishing normally (or cancelled) adds no message of its own.
    csv_callbacks.score_file(
        lambda _: None,
        seal.seal(LOCAL_CALLER, f"{PAGE_LOAD}-7"),
        7,
        file_info,
        CHURN,
        [],
        PAGE_LOAD,
    )
    nothing = (no_update, no_update)
    assert csv_callbacks.explain_stop("stopped", PAGE_LOAD, 7, None, None, CHURN, []) == nothing
    assert csv_callbacks.explain_stop("stopped", PAGE_LOAD, 8, 8, None, CHURN, []) == nothing
    assert csv_callbacks.explain_stop("running", PAGE_LOAD, 9, None, None, CHURN, []) == nothing
    # A job that failed on our own checks also marks its end: its error is the message.
    result, _, _ = csv_callbacks.score_file(
        lambda _: None, seal.seal(LOCAL_CALLER, f"{PAGE_LOAD}-10"), 10, None, CHURN, [], PAGE_LOAD
    )
    assert "Upload a CSV file" in text_of(result)
    assert csv_callbacks.explain_stop("stopped", PAGE_LOAD, 10, None, None, CHURN, []) == nothing


def test_a_job_takes_its_caller_only_from_the_sealed_request(csv_callbacks, csv_service, seal):
    """The browser cannot hand a job an identity: no seal, a forged one, one sealed with
    another key or for another job is refused before anything is read."""
    from services.access.caller import Caller
    from services.jobs.seal import CallerSeal

    file_info = _stored(csv_service, churn_frame(5, seed=4))
    alice = Caller(user="alice", mode="mlflow-basic", password="secret-password")
    job = f"{PAGE_LOAD}-1"
    foreign = CallerSeal(b"another deployment's key", 3600).seal(alice, job)
    other_job = seal.seal(alice, f"{PAGE_LOAD}-2")
    for sealed in (None, "alice", foreign, seal.seal(alice, job)[:-4] + "AAAA", other_job):
        result, download, _ = csv_callbacks.score_file(
            lambda _: None, sealed, 1, file_info, CHURN, [], PAGE_LOAD
        )
        assert "sign-in" in text_of(result).lower() and download is None
    assert seal.open(seal.seal(alice, job), job) == alice
    assert "secret-password" not in seal.seal(alice, job)


def test_a_forged_job_reference_is_refused(csv_callbacks, csv_service, seal):
    file_info = _stored(csv_service, churn_frame(5, seed=4))
    for page_load in ("../../etc", "", None):
        result, _, _ = csv_callbacks.score_file(
            lambda _: None, seal.seal(LOCAL_CALLER, "x"), 1, file_info, CHURN, [], page_load
        )
        assert "job reference is not valid" in text_of(result)
        stopped, _ = csv_callbacks.explain_stop("stopped", page_load, 1, None, None, CHURN, [])
        assert "not valid" in text_of(stopped)


def test_a_silent_job_gets_a_warning_that_goes_when_it_moves(csv_callbacks, services):
    """A job whose whole worker is gone never stops by itself; its silence is what shows,
    counted in the page's ticks (15 s here), never against this machine's clock."""
    seen = None

    def tick(n: int) -> str:
        nonlocal seen
        alert, seen = csv_callbacks.watch_progress(n, PAGE_LOAD, 21, seen)
        return text_of(alert)

    assert tick(0) == "" and tick(19) == ""  # 19 x 15 s: not yet
    assert "No progress for 5 minutes" in tick(20)  # never started in 300 s
    services.jobs.progressed(LOCAL_CALLER, f"{PAGE_LOAD}-21")  # the job moves ...
    assert tick(21) == ""
    assert tick(40) == ""  # ... then nothing for 19 ticks
    assert "No progress for 5 minutes" in tick(41)
    assert "press Cancel" in tick(61) and "7 minutes" in tick(49)
    assert csv_callbacks.watch_progress(3, "forged", 21, seen) == (None, None)


class CountingRegistry:
    """The real registry, counting the calls that resolve a reference and check access; it
    enforces permissions (as an MLflow server or Unity Catalog does), so access is asked."""

    enforces_permissions = True

    def __init__(self, real) -> None:
        self.real = real
        self.calls = {"resolve": 0, "check_access": 0}

    def resolve(self, name, ref):
        self.calls["resolve"] += 1
        return self.real.resolve(name, ref)

    def check_access(self, resolved) -> None:
        self.calls["check_access"] += 1
        self.real.check_access(resolved)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_csv_job_resolves_and_authorises_once(settings, tmp_path):
    """One job, one resolution, one authorisation, one audit record: an alias that moves
    while a job runs cannot split it between two versions."""
    from dataclasses import replace

    from cachelib import SimpleCache

    from services.access.audit import AuditLog
    from services.wiring import build_services

    uncached = replace(
        settings, alias_cache_seconds=0, permission_cache_seconds=0, predict_chunk_rows=10
    )
    services = build_services(uncached, SimpleCache(), AuditLog(f"sqlite:///{tmp_path}/a.db"))
    counting = CountingRegistry(services.registry.registry_for(LOCAL_CALLER))
    services.registry.registry_for = lambda caller: counting
    callbacks = CsvCallbacks(services.files, services.jobs, services.seal, lambda f: f)
    file_info = _stored(services.files, churn_frame(55, seed=2))  # six chunks
    job = f"{PAGE_LOAD}-3"
    result, download, _ = callbacks.score_file(
        lambda _: None, services.seal.seal(LOCAL_CALLER, job), 3, file_info, CHURN, [], PAGE_LOAD
    )
    assert "55 rows scored" in text_of(result) and download
    assert counting.calls == {"resolve": 1, "check_access": 1}
    records = [r for r in services.audit.rows() if r["source"] == "csv"]
    assert [(r["action"], r["input_rows"], r["version"]) for r in records] == [("predict", 55, "1")]
