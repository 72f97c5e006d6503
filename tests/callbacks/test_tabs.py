"""Callbacks called as plain functions, on the real services and registry."""

from __future__ import annotations

import io
from contextvars import copy_context
from typing import Any

import pytest
from dash import html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from flask import g

from callbacks.config_tab import ConfigCallbacks, with_typed
from callbacks.csv_tab import CsvCallbacks
from callbacks.history_tab import HistoryCallbacks
from layouts.csv_tab import prediction_view
from layouts.ids import Config, History, Page
from services.access.caller import LOCAL_CALLER
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.waiting import until


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
        # a name with break opportunities (strings and <wbr>) reads as one word
        inline = all(isinstance(c, (str, html.Wbr)) for c in component)
        return ("" if inline else " ").join(text_of(c) for c in component)
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
    loaded = triggered_by(
        Config.LOAD, "n_clicks", callbacks.load, 1, "", IRIS_MODEL, "Champion", None
    )
    assert f"Loaded {IRIS_MODEL} version 1 (alias Champion)" in text_of(loaded["status"])
    assert "sepal_length" in text_of(loaded["details"])
    assert loaded["selection"] == IRIS
    assert (loaded["model"], loaded["version"]) == (IRIS_MODEL, "Champion")
    assert loaded["tab"] is no_update  # pressing Load changes no tab


def test_load_failure_shows_the_error_and_keeps_the_loaded_model(services):
    callbacks = ConfigCallbacks(services)
    refused = triggered_by(
        Config.LOAD, "n_clicks", callbacks.load, 1, "", "main.ml_models.nope", "1", IRIS
    )
    status = text_of(refused["status"])
    assert "Model not found" in status and "Nothing changed: predictions still use" in status
    assert f"{IRIS_MODEL} v1 @Champion" in status
    assert refused["details"] is no_update and refused["selection"] is no_update


def test_page_load_restores_this_sessions_model(services):
    callbacks = ConfigCallbacks(services)
    outputs = triggered_by(Page.URL_ASKED, "data", callbacks.load, None, "", None, None, CHURN)
    assert outputs["selection"]["name"] == CHURN_MODEL
    nothing = triggered_by(Page.URL_ASKED, "data", callbacks.load, None, "", None, None, None)
    assert all(value is no_update for key, value in nothing.items() if key not in ("job", "read"))
    assert nothing["read"] is True  # the URL is read: the page may write it from now on
    unread = triggered_by(Page.URL_ASKED, "data", callbacks.load, None, None, None, None, CHURN)
    assert all(value is no_update for value in unread.values())  # no URL yet: wait for it


def test_a_url_opens_its_model_version_tab_and_job(services):
    callbacks = ConfigCallbacks(services)
    search = f"?model={IRIS_MODEL}&version=2&tab=json&job={'a' * 32}"
    opened = triggered_by(Page.URL_ASKED, "data", callbacks.load, None, search, None, None, CHURN)
    assert opened["selection"] == {**IRIS, "ref": "2", "version": "2", "alias": None}
    assert opened["job"] == "a" * 32
    assert opened["tab"] is no_update  # opened at once in the browser (openTab)

    def read_again(url_read: bool) -> dict:
        shown = (opened["selection"], "tab-json", "a" * 32, url_read)
        return triggered_by(
            Page.URL_ASKED, "data", callbacks.load, None, search, None, None, *shown
        )

    again = read_again(url_read=True)
    assert all(value is no_update for value in again.values())  # back to what it shows
    reloaded = read_again(url_read=False)  # a reload: the header shows it, the card not yet
    assert reloaded["selection"] == opened["selection"] and reloaded["read"] is True
    assert reloaded["status"] is not no_update
    refused = triggered_by(
        Page.URL_ASKED,
        "data",
        callbacks.load,
        None,
        "?model=main.x.nope&tab=json",
        None,
        None,
        None,
    )
    assert refused["tab"] == "tab-config"  # a refused link is said where it can be read


def test_version_options_list_aliases_latest_and_versions(services):
    options = ConfigCallbacks(services).version_options(IRIS_MODEL, "Staging", None)
    values = [o["value"] if isinstance(o, dict) else o for o in options]
    assert values == ["Challenger", "Champion", "latest", "2", "1", "Staging"]


@pytest.fixture
def csv_service(services):
    return services.files


@pytest.fixture
def csv_callbacks(services):
    return CsvCallbacks(services)


def _stored(csv_service, frame, name: str = "customers.csv") -> dict[str, str]:
    stored = csv_service.upload(LOCAL_CALLER, name, io.BytesIO(frame.to_csv(index=False).encode()))
    return {"file_id": stored.file_id, "filename": stored.filename}


def _finished(services, job_id: str):
    return until(lambda: (job := services.jobs.get(LOCAL_CALLER, job_id)).done and job, 60)


def test_csv_check_then_predict_starts_a_job_with_both_formats(
    csv_callbacks, csv_service, services
):
    customers = churn_frame(12, seed=8)
    customers.insert(0, "customer_id", range(12))
    customers.loc[3, "age"] = None  # one bad row: scored as an error, not a failed file
    file_info = _stored(csv_service, customers)
    preview, _grid, disabled = csv_callbacks.check_file(file_info, CHURN)
    assert "12 rows, 7 columns" in text_of(preview) and "comma-separated" in text_of(preview)
    assert disabled is False
    assert "age is empty in row 5." in text_of(preview)  # the header is row 1
    error, job_id = csv_callbacks.start(1, file_info, CHURN, "csv", False)
    assert error is None
    job = _finished(services, job_id)
    assert (job.state, job.origin, job.version) == ("succeeded", "csv", "1")
    assert job.summary["input_rows"] == 12 and job.summary["failed_rows"] == 1
    assert set(job.result["files"]) == {"csv", "parquet"}  # both written in the one pass
    view = text_of(prediction_view(job))
    assert "12 rows scored" in view and "1 row could not be scored" in view
    stored = csv_service.store.describe(LOCAL_CALLER, job.result["files"]["csv"]["file_id"])
    assert stored.filename == "customers_with_predictions.csv"
    content = csv_service.store.path(LOCAL_CALLER, stored.file_id).read_text()
    header = content.splitlines()[0].replace('"', "")
    assert header == (
        "customer_id,age,income,tenure_months,usage_gb,city,is_member,"
        "prediction,prediction_label,error"
    )


def test_csv_with_missing_columns_cannot_be_predicted(csv_callbacks, csv_service):
    file_info = _stored(csv_service, churn_frame(3).drop(columns=["city", "age"]))
    preview, _, disabled = csv_callbacks.check_file(file_info, CHURN)
    assert "Missing required columns:  age, city" in text_of(preview)
    assert disabled is True


def test_a_misspelt_column_in_a_csv_is_named_with_the_one_it_looks_like(csv_callbacks, csv_service):
    frame = churn_frame(3).rename(columns={"tenure_months": "Tenure Months", "city": "cty"})
    preview, _, disabled = csv_callbacks.check_file(_stored(csv_service, frame), CHURN)
    text = text_of(preview)
    assert '"Tenure Months" looks like tenure_months; "cty" looks like city: rename them.' in text
    assert "Rename the misspelt columns or add the missing ones" in text
    assert disabled is True


def test_a_file_id_from_elsewhere_leads_nowhere(csv_callbacks):
    for file_id in ("0" * 32, "../../etc/passwd"):
        preview, _, disabled = csv_callbacks.check_file({"file_id": file_id}, CHURN)
        assert "no longer available" in text_of(preview) and disabled is True
        error, job = csv_callbacks.start(1, {"file_id": file_id, "filename": "x"}, CHURN, "csv", 0)
        assert "no longer available" in text_of(error) and job is no_update


def test_no_file_yet(csv_callbacks):
    preview, _, disabled = csv_callbacks.check_file(None, CHURN)
    assert "Upload a CSV file" in text_of(preview) and disabled is True
    error, job = csv_callbacks.start(1, None, CHURN, "csv", False)
    assert "Upload a CSV file" in text_of(error) and job is no_update


def test_history_lists_the_callers_runs_from_the_server_up_to_its_length(services, tmp_path):
    from dataclasses import replace

    from services.history import failure_entry
    from services.run_history import RunHistory

    runs = RunHistory(f"sqlite:///{tmp_path / 'runs.db'}", keep=6)
    callbacks = HistoryCallbacks(replace(services, runs=runs))
    for number in range(1, 8):
        runs.remember(LOCAL_CALLER, failure_entry("JSON", IRIS, f"error {number}"))

    def show(component_id: str, prop: str, shown: str | None = None):
        return triggered_by(component_id, prop, lambda: callbacks.show(shown, ticks=1))

    drawn = show(History.NEW, "modified_timestamp")
    shown = text_of(drawn["list"])
    assert "error 7" in shown and "error 2" in shown and "error 1" not in shown
    assert shown.index("error 7") < shown.index("error 2")  # newest first
    assert f"{IRIS_MODEL} v1" in shown
    polled = show(Page.JOB_TICK, "n_intervals", drawn["shown"])
    assert polled == {"list": no_update, "shown": no_update}  # nothing new: not drawn again
    cleared = show(History.CLEAR, "n_clicks", drawn["shown"])
    assert "No JSON or form predictions" in text_of(cleared["list"])
    assert runs.list(LOCAL_CALLER) == []


def test_a_job_takes_its_caller_only_from_the_sealed_request(services, csv_service):
    """The browser cannot hand a job an identity: no seal, a forged one, one sealed with
    another key or for another job is refused before anything is read; the job fails."""
    from services.access.caller import Caller
    from services.jobs.record import Job, new_job_id
    from services.jobs.seal import CallerSeal

    alice = Caller(user="alice", mode="mlflow-basic", password="secret-password")
    seal = services.jobs.seal
    for forged in (None, "alice", "foreign", "cut", "other job"):
        job = Job(
            new_job_id(),
            "alice",
            "score",
            "csv",
            CHURN_MODEL,
            "1",
            "1",
            None,
            "local",
            "upload:" + "0" * 32,
            "mine",
            "csv",
        )
        services.jobs.store.insert(job)
        sealed = {
            "foreign": CallerSeal(b"another deployment's key", 3600).seal(alice, job.job_id),
            "cut": seal.seal(alice, job.job_id)[:-4] + "AAAA",
            "other job": seal.seal(alice, new_job_id()),
        }.get(forged, forged)
        services.jobs.execute(job.job_id, sealed, "test")
        ended = services.jobs.store.load("alice", job.job_id)
        assert ended.state == "failed" and "sign" in ended.error["message"].lower()
    assert seal.open(seal.seal(alice, "x" * 32), "x" * 32) == alice
    assert "secret-password" not in seal.seal(alice, "x" * 32)


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
        settings,
        app_data_dir=tmp_path,
        alias_cache_seconds=0,
        permission_cache_seconds=0,
        predict_chunk_rows=10,
    )
    services = build_services(uncached, SimpleCache(), AuditLog(f"sqlite:///{tmp_path}/a.db"))
    counting = CountingRegistry(services.registry.registry_for(LOCAL_CALLER))
    services.registry.registry_for = lambda caller: counting
    file_info = _stored(services.files, churn_frame(55, seed=2))  # six chunks
    request = {"source": f"upload:{file_info['file_id']}", "engine": "local", "format": "csv"}
    job = services.jobs.submit(LOCAL_CALLER, CHURN_MODEL, "1", request, "csv")
    counting.calls = {"resolve": 0, "check_access": 0}  # the request's own check aside
    done = _finished(services, job.job_id)
    assert done.state == "succeeded" and done.summary["input_rows"] == 55
    assert counting.calls == {"resolve": 1, "check_access": 1}
    records = [r for r in services.audit.rows() if r["source"] == "csv"]
    assert [(r["action"], r["input_rows"], r["version"]) for r in records] == [("predict", 55, "1")]
