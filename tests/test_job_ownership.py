"""Background CSV jobs belong to the page that started them: another page load cannot read
their progress or result, nor cancel them (Dash signs job handles per page load; the app keeps
the signing secret in the job store shared by its workers). Downloads belong to the user
(tests/test_big_files.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from dash.testing.wait import until

from app import create_app, services_of
from services.access.audit import Source
from services.registry.demo import CHURN_MODEL, churn_frame
from tests.dash_requests import page_token, score_request

CHURN = {"name": CHURN_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}


def test_another_page_cannot_read_or_cancel_a_job(settings, tmp_path):
    app = create_app(settings=replace(settings, app_data_dir=tmp_path, predict_chunk_rows=5_000))
    client = app.server.test_client()
    mine, theirs = page_token(client), page_token(client)
    frame = churn_frame(200_000, seed=2)
    frame.insert(0, "id", np.arange(len(frame)))
    upload = client.post(
        "/api/uploads?filename=mine.csv", data=frame.to_csv(index=False), content_type="text/csv"
    ).get_json()
    body = score_request(app, {"file_id": upload["file_id"], "filename": "mine.csv"}, CHURN)
    handles = client.post(f"/_dash-update-component?endId={mine}", json=body).get_json()
    job = f"cacheKey={handles['cacheKey']}&job={handles['job']}"

    # Another page replays my handles: it sees neither my progress nor my result...
    replay = client.post(f"/_dash-update-component?endId={theirs}&{job}", json=body)
    seen = replay.get_data(as_text=True)
    assert "progress" not in seen and "rows scored" not in seen, seen[:300]
    # ... and its attempt to cancel my job is ignored.
    cancel = f"/_dash-update-component?endId={theirs}&{job}&oldJob={handles['job']}"
    assert "progress" not in client.post(cancel, json=body).get_data(as_text=True)

    def my_result() -> str | None:
        answer = client.post(f"/_dash-update-component?endId={mine}&{job}", json=body)
        text = answer.get_data(as_text=True)
        return text if "rows scored" in text else None

    finished = until(my_result, timeout=120)
    assert "200,000 rows scored" in finished
    audit = services_of(app.server).audit
    scored = audit.rows(source=Source.CSV, action="predict")  # written by the job's own process
    assert [(row["input_rows"], row["outcome"]) for row in scored] == [(200_000, "ok")]
