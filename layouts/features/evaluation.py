"""Evaluate against a label column, in the CSV tab and in Compare & Monitor: the uploaded
file's label column (the suggested one chosen first), the versions, an optional slice
column; then, from the job's record, the verdict, the figures side by side, the confusion
matrices side by side, the curves, the slices and the rows left out. One section used in
two places, each instance with its own IDs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from layouts.charts import chart_layout, graph
from layouts.components import placeholder, section
from layouts.features.jobs import JobPanel
from layouts.features.snippets import SnippetPanel
from services.jobs.record import FROM_EVALUATE, FROM_MONITOR_EVALUATE, Job

NO_EVALUATION = (
    "Each version predicts the uploaded file; its answers are set against the label column: "
    "accuracy and the other figures side by side, and whether the difference is real."
)
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "f1_macro": "F1 (macro)",
    "log_loss": "Log loss",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "mape": "MAPE",
}


@dataclass(frozen=True)
class EvaluationSection:
    """One instance of the section; ``name`` scopes its IDs and is the origin of its jobs."""

    name: str

    @property
    def panel(self) -> JobPanel:
        return JobPanel(self.name, NO_EVALUATION)

    def _id(self, part: str) -> str:
        return f"{self.name}-{part}"

    @property
    def snippets(self) -> SnippetPanel:
        return SnippetPanel(self.name)

    @property
    def label(self) -> str:
        return self._id("label")

    @property
    def refs(self) -> str:
        return self._id("refs")

    @property
    def slice(self) -> str:
        return self._id("slice")

    @property
    def run(self) -> str:
        return self._id("run")

    @property
    def error(self) -> str:
        return self._id("error")

    @property
    def save(self) -> str:
        return self._id("save")

    @property
    def download(self) -> str:
        return self._id("download")

    def layout(self) -> dbc.Card:
        pickers = dbc.Row(
            [
                _picker(self.label, "Label column (the true values)", clearable=False),
                _picker(self.refs, "Versions to evaluate", multi=True),
                _picker(self.slice, "Slice by (optional)", clearable=True),
            ],
            className="g-2 mb-2",
        )
        buttons = html.Div(
            [
                dbc.Button(
                    [html.I(className="bi bi-clipboard-check me-1"), "Evaluate"],
                    id=self.run,
                    color="primary",
                ),
                dbc.Button(
                    [html.I(className="bi bi-download me-1"), "Download evaluation (JSON)"],
                    id=self.save,
                    color="secondary",
                    outline=True,
                ),
                dcc.Download(id=self.download),
            ],
            className="d-flex flex-wrap gap-2 mb-2",
        )
        body = [
            html.P(
                "Upload a file with the true values in the CSV tab, choose its label column "
                "and the versions; the first two are compared on the same rows.",
                className="small text-body-secondary",
            ),
            pickers,
            buttons,
            html.Div(id=self.error),
            self.snippets.layout(),
            self.panel.layout(),
        ]
        return section("Evaluate against a label column", body, "clipboard-check")


def _picker(picker_id: str, text: str, multi: bool = False, clearable: bool = True) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(text, html_for=picker_id, className="mb-1 small"),
            dcc.Dropdown(id=picker_id, multi=multi, clearable=clearable),
        ],
        md=4,
    )


CSV_SECTION = EvaluationSection(FROM_EVALUATE)
MONITOR_SECTION = EvaluationSection(FROM_MONITOR_EVALUATE)
SECTIONS = (CSV_SECTION, MONITOR_SECTION)


def evaluation_view(job: Job) -> Any:
    """A finished evaluate job's result, from its record."""
    body = (job.detail or {}).get("evaluation")
    if not body:
        return placeholder("The evaluation is kept in the job's record; it has none.")
    versions = body["versions"]
    parts: list[Any] = [verdict(body, job.source_name), metrics_table(body["kind"], versions)]
    if body["kind"] == "classification":
        parts.append(html.H6("Confusion matrices (rows: truth, columns: prediction)"))
        parts.append(dbc.Row([dbc.Col(confusion_table(v), md=6) for v in versions]))
    parts.append(curves_chart(body["kind"], versions))
    if body.get("slices"):
        parts.append(slices_table(body))
    if body.get("problems"):
        parts.append(problems_list(body))
    return html.Div(parts, className="evaluation-result")


def verdict(body: dict[str, Any], source_name: str = "") -> Any:
    """The verdict, then what it stands on: the rows of which file (a newer upload does not
    take its name)."""
    comparison = body.get("comparison") or {}
    where = f" of {source_name}" if source_name else ""
    rows = f"{body['rows']:,} rows{where} evaluated against {body['label']}"
    skipped = f", {body['skipped_rows']:,} left out (listed below)" if body["skipped_rows"] else ""
    text = comparison.get("summary") or "One version: nothing to compare it with."
    return html.Div(
        [
            html.Strong(text, className="evaluation-verdict"),
            html.Div(rows + skipped, className="small"),
        ],
        className="alert alert-info",
        role="status",
    )


def _shown(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def metrics_table(kind: str, versions: list[dict[str, Any]]) -> dbc.Table:
    names = [name for name in METRIC_NAMES if name in versions[0]["metrics"]]
    header = html.Tr(
        [html.Th("Metric", scope="col")]
        + [html.Th(f"{v['ref']} (v{v['version']})", scope="col") for v in versions]
    )
    rows = [
        html.Tr(
            [html.Th(METRIC_NAMES[name], scope="row")]
            + [html.Td(_shown(v["metrics"].get(name))) for v in versions]
        )
        for name in names
    ]
    return dbc.Table(
        [
            html.Caption(f"{kind.capitalize()} metrics, side by side"),
            html.Thead(header),
            html.Tbody(rows),
        ],
        size="sm",
        bordered=True,
        className="evaluation-metrics caption-top",
    )


def confusion_table(version: dict[str, Any]) -> dbc.Table:
    matrix = version["confusion_matrix"]
    labels = matrix["labels"]
    header = html.Tr(
        [html.Th("truth \\ predicted", scope="col")]
        + [html.Th(label, scope="col") for label in labels]
    )
    rows = [
        html.Tr([html.Th(label, scope="row")] + [html.Td(f"{n:,}") for n in counts])
        for label, counts in zip(labels, matrix["matrix"], strict=False)
    ]
    return dbc.Table(
        [
            html.Caption(f"{version['ref']} (v{version['version']})"),
            html.Thead(header),
            html.Tbody(rows),
        ],
        size="sm",
        bordered=True,
        className="caption-top",
    )


def curves_chart(kind: str, versions: list[dict[str, Any]]) -> Any:
    """ROC curves (classifiers with probabilities) or predicted against actual (regressors)."""
    figure = go.Figure()
    if kind == "classification":
        for version in versions:
            for name, curve in (version.get("curves") or {}).items():
                figure.add_scatter(
                    x=curve["roc"]["fpr"],
                    y=curve["roc"]["tpr"],
                    mode="lines",
                    name=f"{version['ref']} · {name}",
                )
        if not figure.data:
            return placeholder("No curves: these versions give no class probabilities.")
        title = "ROC curves"
        figure.update_layout(xaxis_title="False positive rate", yaxis_title="True positive rate")
    else:
        for version in versions:
            points = version["curves"]["predicted_vs_actual"]
            figure.add_scatter(
                x=points["actual"], y=points["predicted"], mode="markers", name=version["ref"]
            )
        title = "Predicted against actual (a sample)"
        figure.update_layout(xaxis_title="Actual", yaxis_title="Predicted")
    # styled as every other chart (the dark theme included), with its legend: one line a version
    return graph(chart_layout(figure, title, height=340).update_layout(showlegend=True), "curves")


def slices_table(body: dict[str, Any]) -> Any:
    main = "accuracy" if body["kind"] == "classification" else "mae"
    versions = body["versions"]
    header = html.Tr(
        [html.Th(body["slice_column"], scope="col"), html.Th("Rows", scope="col")]
        + [html.Th(f"{v['ref']} {METRIC_NAMES[main]}", scope="col") for v in versions]
    )
    rows = [
        html.Tr(
            [html.Th(s["value"], scope="row"), html.Td(f"{s['rows']:,}")]
            + [html.Td(_shown(v["metrics"].get(main))) for v in s["versions"]]
        )
        for s in body["slices"]
    ]
    return dbc.Table(
        [
            html.Caption("Slices, where a version does worst first"),
            html.Thead(header),
            html.Tbody(rows),
        ],
        size="sm",
        bordered=True,
        className="evaluation-slices caption-top",
    )


def problems_list(body: dict[str, Any]) -> Any:
    items = [
        html.Li(f"Row {p['row']}: {p['problem']}" + (f" ({p['value']})" if p["value"] else ""))
        for p in body["problems"]
    ]
    counts = ", ".join(f"{n:,} {reason.replace('_', ' ')}" for reason, n in body["skipped"].items())
    return html.Details(
        [html.Summary(f"Rows left out: {counts}"), html.Ul(items, className="small")],
        className="mb-2",
    )
