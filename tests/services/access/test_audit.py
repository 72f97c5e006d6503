"""The audit log: every prediction and failure, written off the request path, kept at exit."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from cachelib import SimpleCache

from services.access.audit import AuditLog, AuditRecord, Source
from services.errors import ConsoleError
from services.registry.demo import IRIS_MODEL
from services.wiring import build_services
from tests.conftest import SETOSA, api_predict


@pytest.fixture
def audited(settings, tmp_path):
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    services = build_services(replace(settings, app_data_dir=tmp_path), SimpleCache(), audit)
    yield services, audit
    audit.close()


def test_predictions_and_failures_are_recorded(audited, caller):
    services, audit = audited
    services.scoring.predict(caller, IRIS_MODEL, "Champion", [SETOSA, SETOSA], source=Source.JSON)
    for bad in ({"sepal_length": 1}, "not json"):
        with pytest.raises(ConsoleError):
            services.scoring.predict(caller, IRIS_MODEL, "Champion", bad, source=Source.FORM)
    with pytest.raises(ConsoleError):
        api_predict(services, caller, "main.ml_models.missing", "1", SETOSA)
    rows = audit.rows()
    assert [(r["source"], r["outcome"], r["error_code"]) for r in rows] == [
        ("json", "ok", None),
        ("form", "error", "INVALID_SCHEMA"),
        ("form", "error", "INVALID_INPUT"),
        ("api", "error", "MODEL_NOT_FOUND"),
    ]
    first = rows[0]
    assert (first["user"], first["model"], first["version"], first["alias"]) == (
        "local user",
        IRIS_MODEL,
        "1",
        "Champion",
    )
    assert first["input_rows"] == 2 and first["latency_ms"] > 0


def test_each_record_is_also_one_json_log_line(audited, caller, caplog):
    services, _ = audited
    with caplog.at_level(logging.INFO, logger="model_console.audit"):
        api_predict(services, caller, IRIS_MODEL, "1", {**SETOSA, "sepal_length": 6.54321})
    # another test's writer thread may still be warning on this logger: keep only the records
    (line,) = [
        r.getMessage()
        for r in caplog.records
        if r.name == "model_console.audit" and r.getMessage().startswith('{"audit"')
    ]
    record = json.loads(line)["audit"]
    assert record["outcome"] == "ok" and record["model"] == IRIS_MODEL
    assert "6.54321" not in line


def test_records_queued_before_close_are_written(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit = AuditLog(url)
    for number in range(500):
        audit.record(AuditRecord(user=f"u{number}", source=Source.API, action="predict"))
    audit.close()
    assert len(AuditLog(url).rows()) == 500
