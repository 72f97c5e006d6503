"""Work per person is bounded: each person's file area has a quota, and a flood of job requests
starts no processes."""

from __future__ import annotations

from dataclasses import replace

from app import create_app
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.dash_requests import page_token, score_request, start_error, started_job
from tests.processes import job_processes
from tests.waiting import until

CHURN = {"name": CHURN_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}


def test_each_persons_area_has_a_quota(settings, tmp_path):
    small = replace(settings, app_data_dir=tmp_path, user_quota_bytes=20_000)
    client = create_app(settings=small).server.test_client()
    first = client.post(
        "/api/uploads?filename=a.csv", data=b"a,b\n" + b"1,2\n" * 3000, content_type="text/csv"
    )
    assert first.status_code == 201
    second = client.post(
        "/api/uploads?filename=b.csv", data=b"a,b\n" + b"1,2\n" * 3000, content_type="text/csv"
    )
    assert second.status_code == 507 and second.get_json()["error_code"] == "QUOTA_EXCEEDED"
    assert len(list((tmp_path / "files").glob("*/*.data"))) == 1  # nothing half-written kept


def test_a_flood_of_job_requests_makes_no_processes(settings, tmp_path):
    """Forged Predict-from-CSV requests beyond JOBS_PER_USER are answered at once, without
    a job or a process being made for them; one quota for every kind of job."""
    limited = replace(settings, app_data_dir=tmp_path, jobs_per_user=1, predict_chunk_rows=2000)
    app = create_app(settings=limited)
    client = app.server.test_client()
    frame = churn_frame(100_000, seed=1)
    upload = client.post(
        "/api/uploads?filename=big.csv", data=frame.to_csv(index=False), content_type="text/csv"
    ).get_json()
    body = score_request(app, {"file_id": upload["file_id"], "filename": "big.csv"}, CHURN)
    url = f"/_dash-update-component?endId={page_token(client)}"
    first = started_job(client.post(url, json=body))
    assert first is not None
    for _ in range(10):
        answer = client.post(url, json=body)
        assert started_job(answer) is None
        assert "You already have 1 job running" in start_error(answer)
    assert len(job_processes()) <= 1
    assert [j["job_id"] for j in client.get("/api/jobs").get_json()["jobs"]] == [first]
    until(lambda: client.get(f"/api/jobs/{first}").get_json()["state"] == "succeeded", timeout=120)
    assert started_job(client.post(url, json=body)) is not None  # one at a time is fine
