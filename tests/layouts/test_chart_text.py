"""What model owners and files write (class names, feature names, cells) reaches charts as
text: plotly reads links, line breaks and styles in labels, so markup must arrive escaped."""

from __future__ import annotations

import json

from layouts.charts import distribution_chart, ice_chart, importance_chart, waterfall_chart
from layouts.features.monitor_charts import (
    arm_predictions_chart,
    crosstab_chart,
    drift_bars,
    drift_over_time_chart,
    scatter_chart,
)

LINK = '<a href="https://127.0.0.1:9/login">Session expired</a>'


def _text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda o: o.to_plotly_json())


def test_markup_in_names_and_values_is_shown_not_followed():
    charts = [
        distribution_chart({"kind": "classes", "counts": {"0": 3}}, {"0": LINK}),
        waterfall_chart(
            {
                "base_value": 0.5,
                "output": 0.7,
                "contributions": [{"feature": LINK, "value": LINK, "contribution": 0.2}],
            },
            "probability",
        ),
        importance_chart({"features": [{"feature": LINK, "importance": 1.0}], "method": "x"}),
        ice_chart(
            {
                "feature": LINK,
                "values": ["a", LINK],
                "outputs": [0.1, 0.2],
                "current": LINK,
                "current_output": 0.2,
                "explained_output": "probability",
                "target": LINK,
            }
        ),
    ]
    for chart in charts:
        text = _text(chart)
        assert "<a href" not in text and "&lt;a href" in text, text[:300]


def test_markup_in_comparison_and_monitoring_charts_is_shown_not_followed():
    summary = {
        "time": "2026-12-01T10:00:00+00:00",
        "indicative": False,
        "label": LINK,
        "columns": [{"column": LINK, "psi": 0.3}],
    }
    charts = [
        crosstab_chart({"counts": [[1]], "rows": [LINK], "columns": [LINK]}, LINK, LINK),
        scatter_chart([1.0], [2.0], (LINK, LINK)),
        drift_bars({"columns": [{"column": LINK, "psi": 0.3, "flagged": True}]}, 0.2),
        drift_over_time_chart([summary], 0.2),
        arm_predictions_chart([{"arm": LINK, "predictions": {"classes": {LINK: 3}}}]),
    ]
    for chart in charts:
        text = _text(chart)
        assert "<a href" not in text and "&lt;a href" in text, text[:300]


def test_drift_bars_are_red_only_for_flagged_columns():
    """On too few rows nothing is flagged (the headline says so), whatever the PSI."""
    columns = [
        {"column": "few_rows", "psi": 1.4, "flagged": False},
        {"column": "drifted", "psi": 0.3, "flagged": True},
        {"column": "calm", "psi": 0.1, "flagged": False},
    ]
    colour = _bar_colours(drift_bars({"columns": columns}, 0.2))
    assert colour["few_rows"] == colour["calm"] != colour["drifted"]


def _bar_colours(chart) -> dict[str, str]:
    bars = chart.children.figure["data"][0]
    return dict(zip(bars["y"], bars["marker"]["color"], strict=True))
