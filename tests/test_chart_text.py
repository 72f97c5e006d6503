"""What model owners and files write (class names, feature names, cells) reaches charts as
text: plotly reads links, line breaks and styles in labels, so markup must arrive escaped."""

from __future__ import annotations

import json

from layouts.charts import distribution_chart, ice_chart, importance_chart, waterfall_chart

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
