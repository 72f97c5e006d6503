"""Plotly figures in dcc.Graph: a batch's distribution, a row's class probabilities, a
waterfall of one row's explanation, a model's feature importance. Transparent backgrounds
and theme-coloured text (assets/10-console.css), so light and dark mode both read."""

from __future__ import annotations

import contextlib
import itertools
from html import escape
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from services.registry.labels import label_of

# plotly's JSON encoder imports PIL.Image the first time it meets a figure, inside a request:
# two threads answering at once met it half imported (AttributeError, a 500 in CI). Imported
# here, with the layouts, before any request.
with contextlib.suppress(ImportError):
    import PIL.Image  # noqa: F401

BLUE, RED, GREEN, GREY = "#0d6efd", "#dc3545", "#198754", "#6c757d"
TOP_CLASSES = 5
WATERFALL_FEATURES = 12
WATERFALL_LABEL_ROOM = 0.15  # of the axis' span, beyond the bars' ends
WHOLE_TICKS_UP_TO = 10  # a count axis this short gets a tick for every row
EDGE_TICK_MARGIN = 24  # px: plotly drops a tick label that would cross the right edge


def _layout(figure: go.Figure, title: str, height: int = 280) -> go.Figure:
    figure.update_layout(
        title={"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
    )
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


chart_layout = _layout  # for the other chart modules (layouts/monitor_charts.py)


def graph(figure: go.Figure, name: str) -> html.Div:
    """One chart; ``name`` marks it for tests and styles (ids stay in layouts/ids.py)."""
    return html.Div(
        dcc.Graph(figure=figure, config={"displayModeBar": False, "responsive": True}),
        className=f"console-chart chart-{name}",
    )


def distribution_chart(distribution: dict[str, Any], labels: dict[str, str] | None) -> Any:
    """Counts per class, or a histogram of predicted values."""
    total = distribution.get("total", 0)
    if distribution["kind"] == "histogram":
        edges, counts = distribution["edges"], distribution["counts"]
        centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        figure = go.Figure(
            go.Bar(x=centres, y=counts, width=edges[1] - edges[0], marker_color=BLUE)
        )
        figure.update_xaxes(title="predicted value")
        _count_axis(figure, counts)
        return graph(_layout(figure, f"Distribution of {total:,} predictions"), "distribution")
    names = [_named(value, labels) for value in distribution["counts"]]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=list(distribution["counts"].values()),
            marker_color=BLUE,
            text=[f"{count:,}" for count in distribution["counts"].values()],
            textposition="auto",
        )
    )
    figure.update_xaxes(type="category", title="predicted class")
    _count_axis(figure, list(distribution["counts"].values()))
    return graph(_layout(figure, f"Predictions per class ({total:,} rows)"), "distribution")


def confidence_chart(histogram: dict[str, Any]) -> Any:
    edges, counts = histogram["edges"], histogram["counts"]
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    figure = go.Figure(go.Bar(x=centres, y=counts, width=edges[1] - edges[0], marker_color=GREEN))
    figure.update_xaxes(title="probability of the predicted class", range=[0, 1])
    _count_axis(figure, counts)
    return graph(_layout(figure, "How sure the model is"), "confidence")


def _count_axis(figure: go.Figure, counts: list[int]) -> None:
    """Rows counted: whole numbers only (plotly ticks a small range at 0.2, 0.4, …)."""
    small = max(counts, default=0) <= WHOLE_TICKS_UP_TO
    figure.update_yaxes(title="rows", rangemode="tozero", dtick=1 if small else None)


def probability_bars(probabilities: dict[str, float], labels: dict[str, str] | None) -> Any:
    """The top classes of one row, most likely first."""
    top = sorted(probabilities.items(), key=lambda item: -item[1])[:TOP_CLASSES]
    names = [_named(value, labels) for value, _ in top][::-1]
    values = [p for _, p in top][::-1]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=BLUE,
            text=[f"{p:.1%}" for p in values],
            textposition="auto",
        )
    )
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(type="category")
    height = 90 + 34 * len(top)
    figure = _layout(figure, "Class probabilities", height)
    figure.update_layout(margin={"r": EDGE_TICK_MARGIN})  # room for "100%" at the axis' end
    return graph(figure, "probabilities")


def waterfall_chart(row: dict[str, Any], explained_output: str) -> Any:
    """From the base value to this row's output, the largest contributions first; the rest
    gathered into one bar so the sum still holds."""
    ranked = sorted(row["contributions"], key=lambda c: -abs(c["contribution"]))
    shown, rest = ranked[:WATERFALL_FEATURES], ranked[WATERFALL_FEATURES:]
    names = [f"{safe(c['feature'])} = {_value(c['value'])}" for c in shown]
    values = [c["contribution"] for c in shown]
    if rest:
        names.append(f"{len(rest)} other features")
        values.append(sum(c["contribution"] for c in rest))
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            y=["base value", *names, "output"],
            x=[row["base_value"], *values, row["output"]],
            measure=["absolute", *["relative"] * len(values), "total"],
            increasing={"marker": {"color": RED}},
            decreasing={"marker": {"color": BLUE}},
            totals={"marker": {"color": GREY}},
            connector={"line": {"width": 0}},
            text=[
                f"{row['base_value']:.4g}",
                *[f"{v:+.3g}" for v in values],
                f"{row['output']:.4g}",
            ],
            textposition="auto",
            cliponaxis=False,  # labels of the last bars stay readable
        )
    )
    figure.update_yaxes(autorange="reversed", type="category")
    _room_left_of_zero(figure, [row["base_value"], *values])
    height = 110 + 30 * (len(names) + 2)
    del explained_output  # said under the chart: too long for a title
    figure = _layout(figure, "Why: each input's contribution", height)
    figure.update_layout(margin={"r": 60})  # room for the labels of bars at the right edge
    return graph(figure, "waterfall")


def _room_left_of_zero(figure: go.Figure, steps: list[float]) -> None:
    """A bar left of zero (a negative base value, log-odds say) has its label outside its
    end: without room there, the label is drawn over the axis' names."""
    ends = list(itertools.accumulate(steps))
    low, high = min(0.0, *ends), max(0.0, *ends)
    if low < 0:
        pad = WATERFALL_LABEL_ROOM * (high - low)
        figure.update_xaxes(range=[low - pad, high + pad])


def importance_chart(importance: dict[str, Any]) -> Any:
    features = importance["features"][::-1]
    figure = go.Figure(
        go.Bar(
            x=[f["importance"] for f in features],
            y=[safe(f["feature"]) for f in features],
            orientation="h",
            marker_color=BLUE,
        )
    )
    figure.update_yaxes(type="category")
    height = 90 + 28 * len(features)
    return graph(_layout(figure, "Feature importance", height), "importance")


def ice_chart(curve: dict[str, Any]) -> Any:
    """The output as one feature sweeps its range, the row as it is marked on the curve."""
    figure = go.Figure(
        go.Scatter(
            x=curve["values"],
            y=curve["outputs"],
            mode="lines+markers",
            line={"color": BLUE},
            name="swept",
        )
    )
    current, now = curve["current"], curve.get("current_output")
    if now is not None and current is not None:
        marker = {"color": RED, "size": 11, "symbol": "diamond"}
        shown = safe(current) if isinstance(current, str) else current
        figure.add_trace(
            go.Scatter(x=[shown], y=[now], mode="markers", name="this row", marker=marker)
        )
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        figure.add_vline(x=current, line_dash="dot", line_color=GREY)
    if curve["explained_output"].startswith("probability"):
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    categorical = any(isinstance(v, (str, bool)) for v in curve["values"])
    if categorical:
        figure.update_traces(x=[safe(v) for v in curve["values"]], selector={"name": "swept"})
    feature, target = safe(curve["feature"]), curve.get("target")
    figure.update_xaxes(title=feature, type="category" if categorical else None)
    figure.update_yaxes(
        title=f"probability of {safe(target)}" if target else curve["explained_output"]
    )
    return graph(_layout(figure, f"What if {feature} changed (others held)"), "ice")


def _named(value: Any, labels: dict[str, str] | None) -> str:
    name = label_of(labels, value)
    return safe(f"{value} · {name}" if name else str(value))


def _value(value: Any) -> str:
    return safe(f"{value:,.6g}" if isinstance(value, float) else str(value))


def safe(text: Any) -> str:
    """Text as plotly shows it, never as markup: plotly reads links, line breaks and styles
    in labels, and class names, feature names and cells come from model owners and files."""
    return escape(str(text), quote=False)
