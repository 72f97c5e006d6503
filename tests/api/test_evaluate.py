"""The evaluation routes through the real app: JSON rows answered at once, an uploaded file
as a job whose record carries the same evaluation, errors as the other routes answer them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app, services_of
from services.access.caller import Caller
from services.registry.demo import IRIS_MODEL, _iris_data
from tests.waiting import until

URL = f"/api/models/{IRIS_MODEL}/evaluate"


def labelled_iris():
    X, y = _iris_data()
    return X.assign(species=y)


@pytest.fixture(scope="module")
def app_client(settings, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("evaluate-api")
    app = create_app(settings=replace(settings, app_data_dir=data_dir, predict_chunk_rows=40))
    return app.server.test_client(), services_of(app.server)


def test_json_rows_are_evaluated_side_by_side_with_a_verdict(app_client):
    client, services = app_client
    rows = labelled_iris().to_dict("records")
    answer = client.post(
        f"{URL}?refs=Champion,Challenger&label=species&slice=petal_width", json=rows
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["label"], body["kind"], body["rows"], body["skipped_rows"]) == (
        "species",
        "classification",
        150,
        0,
    )
    champion, challenger = body["versions"]
    assert (champion["ref"], champion["version"]) == ("Champion", "1")
    assert champion["metrics"]["accuracy"] == 1.0 and challenger["metrics"]["accuracy"] < 1.0
    assert set(challenger["metrics"]) == {
        "accuracy",
        "balanced_accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "log_loss",
        "roc_auc",
    }
    assert champion["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
    assert sum(map(sum, challenger["confusion_matrix"]["matrix"])) == 150
    comparison = body["comparison"]
    assert comparison["between"] == ["Champion", "Challenger"]
    assert comparison["test"] == "mcnemar_exact" and 0 < comparison["p_value"] <= 1
    assert comparison["summary"].startswith("Challenger is right on 0 rows where Champion is")
    assert len(comparison["difference"]["accuracy"]["ci95"]) == 2
    assert body["slices"] and sum(s["rows"] for s in body["slices"]) == 150
    audited = services.audit
    audited.flush()
    actions = {r["action"] for r in audited.rows(model=IRIS_MODEL)}
    assert "evaluate" in actions


@pytest.mark.parametrize(
    ("query", "body", "status", "code"),
    [
        ("?refs=Champion", [{"sepal_length": 1}], 400, "INVALID_INPUT"),  # no label named
        ("?refs=Champion&label=kind", None, 400, "INVALID_INPUT"),  # no such column
        ("?refs=Champion&label=species&slice=colour", None, 400, "INVALID_INPUT"),
        ("?refs=Champion,nine&label=species", None, 404, None),  # no version nine
    ],
)
def test_errors_are_answered_like_the_other_routes(app_client, query, body, status, code):
    client, _ = app_client
    rows = body if body is not None else labelled_iris().head(5).to_dict("records")
    answer = client.post(f"{URL}{query}", json=rows)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()
    assert error["message"] and (code is None or error["error_code"] == code)


def test_a_body_that_is_not_json_is_refused(app_client):
    client, _ = app_client
    answer = client.post(f"{URL}?label=species", data="a,b\n1,2", content_type="text/csv")
    assert answer.status_code == 415


def test_a_file_is_evaluated_as_a_job_only_its_owner_sees(app_client):
    client, services = app_client
    frame = labelled_iris()
    frame.loc[3, "species"] = None  # counted, listed, left out
    upload = client.post(
        "/api/uploads?filename=iris_labeled.csv",
        data=frame.to_csv(index=False),
        content_type="text/csv",
    )
    file_id = upload.get_json()["file_id"]
    started = client.post(f"{URL}/{file_id}?refs=Champion,Challenger&label=species")
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert job["kind"] == "evaluate" and job["state"] in ("queued", "running", "succeeded")

    def finished():
        record = client.get(f"/api/jobs/{job['job_id']}").get_json()
        return record if record["state"] in ("succeeded", "failed", "cancelled") else None

    record = until(finished, timeout=60, poll=0.2)
    assert record["state"] == "succeeded", record
    evaluation = record["detail"]["evaluation"]
    assert evaluation["rows"] == 149 and evaluation["skipped"] == {"missing_label": 1}
    assert evaluation["problems"][0]["row"] == 4
    rows = frame.drop(index=3).to_dict("records")
    direct = client.post(f"{URL}?refs=Champion,Challenger&label=species", json=rows).get_json()
    for from_file, from_json in zip(evaluation["versions"], direct["versions"], strict=True):
        assert from_file["metrics"] == pytest.approx(from_json["metrics"], abs=1e-12)
    listed = client.get("/api/jobs").get_json()["jobs"]
    assert any(j["job_id"] == job["job_id"] and j["kind"] == "evaluate" for j in listed)

    owner = services.jobs.get(Caller(job["owner"], mode="none"), job["job_id"])
    assert owner.job_id == job["job_id"]
    owner_caller = Caller(job["owner"], mode="none")
    latest = services.evaluation.latest_evaluation(owner_caller, IRIS_MODEL, ("1", "2"))
    assert latest is not None and latest["file"] == "iris_labeled.csv"
    assert [v["accuracy"] for v in latest["versions"]] == [1.0, pytest.approx(146 / 149, abs=0.02)]
    evidence = services.promotion.latest_evidence(owner_caller, IRIS_MODEL, ("1", "2"))
    assert evidence.id == job["job_id"]
    assert evidence.summary.startswith(
        "Version 1 (as Champion): 100.0 % accuracy, version 2 (as Challenger): "
    )
    assert "on iris_labeled.csv (149 rows)" in evidence.summary

    bob = Caller("bob", mode="none")
    with pytest.raises(Exception) as seen:
        services.jobs.get(bob, job["job_id"])
    assert getattr(seen.value, "error_code", "") == "JOB_NOT_FOUND"
    assert services.evaluation.latest_evaluation(bob, IRIS_MODEL, ("1", "2")) is None


def test_a_file_job_without_a_label_is_refused_in_the_request(app_client):
    client, _ = app_client
    upload = client.post(
        "/api/uploads?filename=iris.csv",
        data=labelled_iris().to_csv(index=False),
        content_type="text/csv",
    )
    file_id = upload.get_json()["file_id"]
    answer = client.post(f"{URL}/{file_id}?refs=Champion&label=colour")
    assert answer.status_code == 400 and "colour" in answer.get_json()["message"]


def test_a_label_column_no_row_of_which_is_a_class_is_refused_saying_which_are(app_client):
    """A column of ids offered as the true values: every row would be left out, and figures
    of nothing (an empty table, zero matrices, "no curves") would be read as a result."""
    client, _ = app_client
    rows = labelled_iris().head(20).assign(flower_id=range(1001, 1021)).to_dict("records")
    answer = client.post(f"{URL}?refs=Champion,Challenger&label=flower_id", json=rows)
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()
    assert error["error_code"] == "INVALID_INPUT"
    assert error["message"].startswith('No row could be evaluated: in 20 of 20 rows of "flower_id"')
    assert "not a class this model knows (row 1: '1001')" in error["message"]
    assert "setosa, versicolor, virginica" in error["hint"]
