"""Charts of comparisons and monitoring: a crosstab of two versions' classes, one version's
numbers against the other's, drift per column (one job, and over time), predictions per arm.
Same look as layouts/charts.py (transparent, theme-coloured text)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from layouts.charts import BLUE, GREY, RED, chart_layout, graph, safe

PALETTE = [BLUE, "#fd7e14", "#20c997", "#6f42c1", RED, "#0dcaf0", "#d63384", GREY]
MAX_POINTS = 5_000
# see-through, so the theme's text colour reads on every cell, in light and dark mode
TRANSLUCENT_BLUES = [[0.0, "rgba(13,110,253,0.06)"], [1.0, "rgba(13,110,253,0.6)"]]


def crosstab_chart(crosstab: dict[str, Any], first: str, second: str) -> Any:
    counts, first, second = crosstab["counts"], safe(first), safe(second)
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=[safe(c) for c in crosstab["columns"]],
            y=[safe(r) for r in crosstab["rows"]],
            text=counts,
            texttemplate="%{text}",
            colorscale=TRANSLUCENT_BLUES,
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate=f"{first}: %{{y}}<br>{second}: %{{x}}<br>%{{z}} rows<extra></extra>",
        )
    )
    figure.update_xaxes(type="category", title=second, side="bottom")
    figure.update_yaxes(type="category", title=first, autorange="reversed")
    height = 140 + 44 * len(crosstab["rows"])
    return graph(
        chart_layout(figure, f"Classes: {first} (rows) × {second} (columns)", height), "crosstab"
    )


def scatter_chart(first: list[Any], second: list[Any], names: tuple[str, str]) -> Any:
    pairs = [
        (a, b) for a, b in zip(first, second, strict=False) if a is not None and b is not None
    ][:MAX_POINTS]
    xs, ys, names = [a for a, _ in pairs], [b for _, b in pairs], (safe(names[0]), safe(names[1]))
    figure = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker={"color": BLUE, "size": 6},
            hovertemplate="%{x:.4g} vs %{y:.4g}<extra></extra>",
        )
    )
    if xs:
        low, high = min(xs + ys), max(xs + ys)
        equal = {"color": GREY, "dash": "dot"}
        figure.add_trace(
            go.Scatter(x=[low, high], y=[low, high], mode="lines", line=equal, hoverinfo="skip")
        )
    figure.update_xaxes(title=names[0])
    figure.update_yaxes(title=names[1])
    return graph(
        chart_layout(figure, f"{names[1]} against {names[0]} (dotted: equal)", 340),
        "compare-scatter",
    )


def drift_bars(drift: dict[str, Any], threshold: float) -> Any:
    """One job: each column's PSI, largest first, red where the column is flagged (above
    the threshold, on enough rows: a few rows' PSI says little, and the headline says so)."""
    columns = [c for c in drift["columns"] if c["psi"] is not None][::-1]
    values = [c["psi"] for c in columns]
    colours = [RED if c["flagged"] else BLUE for c in columns]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=[safe(c["column"]) for c in columns],
            orientation="h",
            marker_color=colours,
            text=[f"{v:.3f}" for v in values],
            textposition="auto",
        )
    )
    figure.add_vline(x=threshold, line_dash="dot", line_color=GREY)
    figure.update_yaxes(type="category")
    figure.update_xaxes(title="population stability index (dotted: threshold)")
    return graph(chart_layout(figure, "Drift per column", 110 + 28 * len(columns)), "drift")


def drift_over_time_chart(summaries: list[dict[str, Any]], threshold: float) -> Any:
    """PSI per column, one point per job, oldest first; hollow points: indicative jobs."""
    columns = list(dict.fromkeys(c["column"] for s in summaries for c in s["columns"]))
    figure = go.Figure()
    for index, column in enumerate(columns):
        points = [
            (s["time"], _psi(s, column), s["indicative"], safe(s.get("label") or ""))
            for s in summaries
        ]
        shown = safe(column)
        figure.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="lines+markers",
                name=shown,
                line={"color": PALETTE[index % len(PALETTE)]},
                marker={"symbol": ["circle-open" if p[2] else "circle" for p in points], "size": 9},
                text=[p[3] for p in points],
                hovertemplate=f"{shown}<br>%{{text}}<br>PSI %{{y:.3f}}<extra></extra>",
            )
        )
    figure.add_hline(y=threshold, line_dash="dot", line_color=RED)
    figure.update_yaxes(title="PSI", rangemode="tozero")
    figure.update_xaxes(type="date", tickformat="%b %d, %H:%M", range=_padded(summaries))
    figure = chart_layout(figure, "Drift per column over time (dotted: threshold)", 340)
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    return graph(figure, "drift-over-time")


def _padded(summaries: list[dict[str, Any]]) -> list[str]:
    """At least an hour either side: jobs seconds apart would get millisecond ticks."""
    times = [datetime.fromisoformat(s["time"]) for s in summaries]
    low, high = min(times), max(times)
    pad = max((high - low) / 20, timedelta(hours=1))
    return [(low - pad).isoformat(), (high + pad).isoformat()]


def _psi(summary: dict[str, Any], column: str) -> float | None:
    return next((c["psi"] for c in summary["columns"] if c["column"] == column), None)


def arm_predictions_chart(arms: list[dict[str, Any]]) -> Any:
    """Share of each predicted class per arm (classifiers)."""
    figure = go.Figure()
    classes = list(
        dict.fromkeys(k for a in arms for k in ((a["predictions"] or {}).get("classes") or {}))
    )
    for index, name in enumerate(classes):
        shares = []
        for arm in arms:
            counts = (arm["predictions"] or {}).get("classes") or {}
            shares.append(counts.get(name, 0) / max(sum(counts.values()), 1))
        figure.add_trace(
            go.Bar(
                x=[safe(a["arm"]) for a in arms],
                y=shares,
                name=safe(name),
                marker_color=PALETTE[index % len(PALETTE)],
            )
        )
    figure.update_layout(barmode="stack")
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    figure = chart_layout(figure, "Predicted classes per arm", 240)
    figure.update_layout(showlegend=True)
    return graph(figure, "arm-predictions")
