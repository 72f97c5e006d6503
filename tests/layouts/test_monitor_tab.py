"""The Compare & Monitor tab's drift over time, as a person reads its table."""

from __future__ import annotations

from layouts.monitor_tab import drift_history_view
from tests.callbacks.test_tabs import text_of


def _scored(label: str, rows: int, indicative: bool, flagged: list[str]) -> dict:
    return {
        "time": "2026-12-07T10:00:00+00:00",
        "label": label,
        "rows": rows,
        "indicative": indicative,
        "flagged": flagged,
        "columns": [{"column": "petal_length", "psi": 0.5}],
    }


def test_every_column_of_the_drift_table_is_named_and_a_small_file_says_why_it_is_not_judged():
    history = {
        "model": "iris",
        "version": "1",
        "summaries": [
            _scored("few.csv", 8, True, []),
            _scored("shifted.csv", 1_500, False, ["petal_length"]),
        ],
    }
    view = drift_history_view(history, 0.2)
    table = view.children[-1]
    headers = [cell.children for cell in table.children[0].children.children]
    assert headers == ["time (UTC)", "file", "rows", "drifted columns"]
    text = text_of(view)
    assert "indicative only: fewer than 100 rows" in text and "petal_length" in text
