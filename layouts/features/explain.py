"""Confidence, charts and explanations beside a prediction (JSON, form, CSV results) and
the feature importance of Model Configuration."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from layouts.charts import (
    confidence_chart,
    distribution_chart,
    importance_chart,
    probability_bars,
    waterfall_chart,
)
from layouts.components import section
from services.scoring.distribution import Distribution, probability_histogram
from services.scoring.service import Predictions

NO_CONFIDENCE = (
    "Tick Add class probabilities before Predict from CSV to see how sure the "
    "model was across the file."
)
NO_PROBABILITIES = "This model gives no class probabilities, so there is no confidence to show."


def _note(text: str, icon: str = "info-circle") -> html.Div:
    return html.Div(
        [html.I(className=f"bi bi-{icon} me-1"), text],
        className="small text-body-secondary mb-2 explain-note",
    )


WORKING_OUT = "Working out how sure the model is and why…"


def single_row_insight(
    answer: Predictions, explanation: Any, labels: dict[str, str] | None
) -> html.Div:
    """The top classes as bars and the row's waterfall (or why there is none)."""
    probabilities = answer.probabilities[0] if answer.probabilities else None
    return html.Div(
        insight_parts(probabilities, answer.predictions, explanation, labels),
        className="row-insight",
    )


def insight_parts(
    probabilities: dict[str, float] | None,
    predictions: list[Any],
    explanation: Any,
    labels: dict[str, str] | None,
) -> list[Any]:
    """One row's bars (or why there are none) and its waterfall (or why there is none)."""
    parts: list[Any] = []
    if probabilities:
        parts.append(probability_bars(probabilities, labels))
    elif _looks_like_classes(predictions):
        parts.append(_note(NO_PROBABILITIES))
    parts.append(explanation_view(explanation))
    return parts


def pending_insight(slot: str) -> html.Div:
    """Where a row's confidence and explanation arrive, a moment after its answer."""
    working = html.Div(
        [dbc.Spinner(size="sm", spinner_class_name="me-2"), WORKING_OUT],
        className="small text-body-secondary mb-2 d-flex align-items-center",
    )
    return html.Div(working, id=slot, className="row-insight")


def sureness(probabilities: dict[str, float] | None) -> str:
    """How sure the model is of its answer, as the answer line shows it."""
    return f" ({max(probabilities.values()):.1%})" if probabilities else ""


def explanation_view(explanation: Any) -> Any:
    """A dict from ``Explanation.to_dict`` (plus ``note``), or an error message."""
    if explanation is None:
        return None
    if isinstance(explanation, str):
        return _note(f"No explanation: {explanation}", "exclamation-circle")
    row = explanation["rows"][0]
    return html.Div(
        [
            waterfall_chart(row, explanation["explained_output"]),
            _note(
                f"Explained: {explanation['explained_output']} ({explanation['method']} "
                f"explainer). {explanation['note']}",
                "exclamation-triangle" if explanation["reference"]["fallback"] else "info-circle",
            ),
            *(_note(whole_text_note(name)) for name in explanation.get("text_features", [])),
        ],
        className="explanation",
    )


def whole_text_note(feature: str) -> str:
    return (
        f"{feature} is free text: the whole text counts as one feature, so its bar says how "
        "much the text moved the answer, not which words did."
    )


def batch_charts(answer: Predictions, labels: dict[str, str] | None) -> html.Div:
    distribution = Distribution()
    distribution.add(pd.Series(answer.predictions))
    charts: list[Any] = []
    if distribution.total:
        charts.append(dbc.Col(distribution_chart(distribution.to_dict(), labels), md=6))
    if answer.probabilities:
        charts.append(dbc.Col(confidence_chart(probability_histogram(answer.probabilities)), md=6))
    return dbc.Row(charts, className="batch-charts")


def file_charts(
    distribution: dict[str, Any] | None,
    confidence: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> Any:
    """A file's distribution and, when its class probabilities were added, how sure the
    model was (both counted while the chunks were scored)."""
    if not distribution:
        return None
    charts = [dbc.Col(distribution_chart(distribution, labels), md=6)]
    if confidence:
        charts.append(dbc.Col(confidence_chart(confidence), md=6))
    elif distribution["kind"] == "classes":
        charts.append(dbc.Col(_note(NO_CONFIDENCE), md=6, className="align-self-center"))
    return dbc.Row(charts, className="batch-charts")


def importance_view(importance: Any) -> Any:
    """The chart, labelled with which importance it is and what it was compared against."""
    if isinstance(importance, str):
        return _note(f"No feature importance: {importance}", "exclamation-circle")
    reference = importance["reference"]
    where = (
        "the model's input example (it has no training reference)"
        if reference["fallback"]
        else f"the training reference ({reference['rows']:,} rows)"
    )
    body = [
        importance_chart(importance),
        _note(f"{importance['what'].capitalize()}. Reference data: {where}."),
    ]
    return html.Div(
        section("Feature importance", body, "bar-chart"), className="feature-importance"
    )


def _looks_like_classes(predictions: list[Any]) -> bool:
    return bool(predictions) and all(isinstance(p, (int, str, bool)) for p in predictions)
