"""Compare & Monitor: the loaded model's traffic split and its report per arm (from the
audit log), and the loaded version's drift over time (one point per scored file)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import placeholder, plural, section
from layouts.features.evaluation import MONITOR_SECTION
from layouts.features.monitor_charts import arm_predictions_chart, drift_over_time_chart
from layouts.ids import Monitor
from services.monitor.drift import MIN_ROWS

PERIODS = {
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "all": "All time",
}
PERIOD_HOURS = {"1h": 1, "24h": 24, "7d": 24 * 7, "30d": 24 * 30}
DEFAULT_PERIOD = "7d"
SPLIT_HELP = (
    "Set a split under Model Configuration → Aliases and traffic (Save split), for example "
    "Champion:90,Challenger:10; it is kept in the model's tag console.traffic_split. Then "
    "send requests to POST /api/models/<name>/split/predict with an X-Request-Key header."
)


def layout() -> html.Div:
    period = dbc.Select(
        id=Monitor.PERIOD,
        value=DEFAULT_PERIOD,
        className="w-auto",
        options=[{"label": t, "value": v} for v, t in PERIODS.items()],
    )
    controls = html.Div(
        [
            dbc.Label("Period", html_for=Monitor.PERIOD, className="mb-0"),
            period,
            dbc.Button(
                [html.I(className="bi bi-arrow-clockwise me-1"), "Refresh"],
                id=Monitor.REFRESH,
                color="primary",
                outline=True,
            ),
        ],
        className="d-flex align-items-center gap-2 mb-3",
    )
    loading = {"type": "dot"}
    return html.Div(
        [
            html.Div(id=Monitor.ACTIVE),
            controls,
            section(
                "Traffic split",
                dcc.Loading(html.Div(id=Monitor.TRAFFIC), **loading),
                "signpost-split",
            ),
            section(
                "Drift over time", dcc.Loading(html.Div(id=Monitor.DRIFT), **loading), "activity"
            ),
            MONITOR_SECTION.layout(),
        ]
    )


def no_split(message: str) -> html.Div:
    return html.Div(
        [
            html.P(message, className="mb-1"),
            html.P(SPLIT_HELP, className="small text-body-secondary mb-0"),
        ]
    )


def _split_line(split: dict[str, Any]) -> html.P:
    arms = " · ".join(f"{a['ref']} {a['share']:.0%}" for a in split["arms"])
    return html.P(
        ["Split (tag ", html.Code(split["tag"]), "): ", html.Strong(arms)], className="mb-2"
    )


def _latency(arm: dict[str, Any]) -> str:
    latency = arm["latency_ms"]
    return "—" if not latency else f"{latency['p50']:.1f} / {latency['p95']:.1f} ms"


def _answers(arm: dict[str, Any]) -> str:
    predictions = arm["predictions"] or {}
    if "numbers" in predictions:
        n = predictions["numbers"]
        return f"mean {n['mean']:,.4g} (min {n['min']:,.4g}, max {n['max']:,.4g})"
    classes = predictions.get("classes") or {}
    total = sum(classes.values()) or 1
    return ", ".join(f"{k}: {v / total:.0%}" for k, v in list(classes.items())[:5]) or "—"


def traffic_view(split: dict[str, Any], report: dict[str, Any]) -> html.Div:
    arms = report["arms"]
    if not arms:
        body: Any = placeholder("No split requests in this period yet.")
    else:
        header = (
            "arm",
            "versions",
            "requests",
            "failed",
            "rows",
            "latency p50 / p95",
            "predictions",
        )
        rows = [
            html.Tr(
                [
                    html.Td(a["arm"]),
                    html.Td(", ".join(a["versions"]) or "—"),
                    html.Td(f"{a['requests']:,}"),
                    html.Td(f"{a['failed']:,}"),
                    html.Td(f"{a['rows']:,}"),
                    html.Td(_latency(a)),
                    html.Td(_answers(a)),
                ]
            )
            for a in arms
        ]
        table = dbc.Table(
            [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
            size="sm",
            striped=True,
            responsive=True,
            className="traffic-table",
        )
        chart = (
            arm_predictions_chart(arms)
            if any((a["predictions"] or {}).get("classes") for a in arms)
            else None
        )
        body = html.Div([table, chart])
    total = html.P(f"{plural(report['requests'], 'request')} in this period.", className="small")
    return html.Div([_split_line(split), total, body])


def drift_history_view(history: dict[str, Any], threshold: float) -> html.Div:
    summaries = history["summaries"]
    title = f"{history['model']} version {history['version']}"
    if not summaries:
        return html.Div(placeholder(f"No scored files for {title} yet: each CSV job adds a point."))
    jobs = [
        html.Tr(
            [
                html.Td(s["time"][:19].replace("T", " ")),
                html.Td(s.get("label") or ""),
                html.Td(f"{s['rows']:,}"),
                html.Td(
                    f"indicative only: fewer than {s.get('min_rows', MIN_ROWS)} rows"
                    if s["indicative"]
                    else ", ".join(s["flagged"]) or "none"
                ),
            ]
        )
        for s in summaries
    ]
    header = html.Thead(
        html.Tr([html.Th(h) for h in ("time (UTC)", "file", "rows", "drifted columns")])
    )
    table = dbc.Table(
        [header, html.Tbody(jobs)],
        size="sm",
        striped=True,
        responsive=True,
        className="drift-jobs mb-0",
    )
    return html.Div(
        [
            html.P(
                f"{plural(len(summaries), 'scored file')} for {title}, oldest first.",
                className="small mb-1",
            ),
            drift_over_time_chart(summaries, threshold),
            table,
        ]
    )
