"""A browser's Prediction History as the server reads it back."""

from __future__ import annotations

from services.history import valid_entries

ENTRY = {"id": "a", "time": "2026-12-07T10:00:00", "source": "JSON", "outcome": "ok"}


def test_an_older_versions_answer_reads_as_this_one_writes_it():
    older = [
        {**ENTRY, "preview": '["0 · setosa", "2 · virginica"]'},
        {**ENTRY, "preview": "[1, null, true]"},
        {**ENTRY, "preview": '["0 · setosa", "0 · set…'},  # cut short when it was written
        {**ENTRY, "preview": "0 · setosa, 2 · virginica"},
    ]
    assert [e["preview"] for e in valid_entries(older)] == [
        "0 · setosa, 2 · virginica",
        "1, null, true",
        '["0 · setosa", "0 · set…',
        "0 · setosa, 2 · virginica",
    ]
