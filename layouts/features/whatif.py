"""What-if on the form: a slider under each numeric field, bounded by the training range;
the categories seen in training under each text field (the field still takes any text);
and the panel whose chart sweeps one feature with the other values held (ICE)."""

from __future__ import annotations

import math
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.charts import ice_chart
from layouts.components import placeholder, section
from layouts.ids import Insight, whatif_choice, whatif_slider

SLIDER_STEPS = 100
NO_SWEEP_YET = (
    "Change a value or press Predict from form: this chart shows how the prediction moves "
    "as the chosen feature sweeps its range, the others held."
)
FILL_THE_FORM = "Fill in every field of the form to see how the prediction moves."
WAITS_FOR_FIELDS = "The answer comes back as soon as every field reads."


def answer_waits() -> Any:
    """In place of the answer while a field cannot be read: the field and the line above
    Predict say what is wrong; saying it a third time here would only repeat it."""
    return html.P(WAITS_FOR_FIELDS, className="text-body-secondary small mb-0")


def panel() -> Any:
    """Static slots the what-if callbacks fill when a model is loaded."""
    chooser = html.Div(
        [
            dbc.Label("Sweep", html_for=Insight.WHATIF_FEATURE, className="me-2 mb-0"),
            dbc.Select(
                id=Insight.WHATIF_FEATURE, options=[], size="sm", className="w-auto whatif-feature"
            ),
        ],
        className="d-flex align-items-center mb-2",
    )
    body = [
        html.Div(id=Insight.WHATIF_NOTE),
        chooser,
        html.Div(placeholder(NO_SWEEP_YET), id=Insight.WHATIF_ICE),
    ]
    return html.Div(section("What-if", body, "sliders"), className="mt-3 whatif-panel")


def controls(ranges: list[dict[str, Any]], example: dict[str, Any] | None) -> dict[str, Any]:
    """Column → the control shown under its form field (none for true/false switches)."""
    example = example or {}
    made: dict[str, Any] = {}
    for feature in ranges:
        name, value = feature["feature"], example.get(feature["feature"])
        if feature["kind"] in ("number", "integer") and "low" in feature:
            made[name] = slider(feature, value)
        elif feature["kind"] == "category" and feature.get("categories"):
            made[name] = choice(feature, value)
    return made


def slider(feature: dict[str, Any], value: Any) -> dcc.Slider:
    low, high = _bounds(feature["low"], feature["high"])
    step = _step(low, high, feature["kind"] == "integer")
    current = _clamped(value, low, high)
    return dcc.Slider(
        id=whatif_slider(feature["feature"]),
        min=low,
        max=high,
        step=step,
        value=current,
        marks={low: _short(low), high: _short(high)},
        updatemode="mouseup",
        tooltip={"placement": "bottom"},
        allow_direct_input=False,
        className="whatif-slider",
    )


def choice(feature: dict[str, Any], value: Any) -> dbc.Select:
    categories = [str(c) for c in feature["categories"]]
    return dbc.Select(
        id=whatif_choice(feature["feature"]),
        options=[{"label": c, "value": c} for c in categories],
        value=str(value) if str(value) in categories else "",
        placeholder="seen in training…",
        size="sm",
        className="mt-1 whatif-choice",
    )


def _bounds(low: float, high: float) -> tuple[float, float]:
    """A range that can be slid even when the reference holds one value."""
    if high > low:
        return low, high
    spread = max(abs(low) * 0.5, 1.0)
    return low - spread, high + spread


def _step(low: float, high: float, whole: bool) -> float:
    """A round step giving about ``SLIDER_STEPS`` positions (1 or more for whole numbers)."""
    step = 10 ** math.floor(math.log10((high - low) / SLIDER_STEPS))
    return max(1, round(step)) if whole else step


def _clamped(value: Any, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(number, low), high) if math.isfinite(number) else None


def _short(value: float) -> str:
    """A range end as people write it: 99,220 rather than 9.922e+04."""
    return f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:.4g}"


def slider_text(value: Any, whole: bool) -> str | None:
    """What a slider's position writes into its text field (no float noise: 5.1, not
    5.1000000000000005)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return str(round(number)) if whole else f"{number:.10g}"


def space_note(space: dict[str, Any] | str) -> Any:
    """What the sliders and lists are bounded by, or why there are none."""
    if isinstance(space, str):
        return _note(f"No what-if ranges: {space}", "exclamation-circle")
    reference = space["reference"]
    if reference["fallback"]:
        return _note(
            f"This model carries no training reference: the slider ranges and category "
            f"lists come from its input example ({reference['rows']} rows), so they are "
            "narrow and may miss values the model knows. Any value can still be typed.",
            "exclamation-triangle",
        )
    return _note(
        f"Sliders span the training range and lists hold the categories seen in training "
        f"(training reference, {reference['rows']:,} rows). Changing a value predicts again "
        "at once; what-if answers are audited but not kept in Prediction History."
    )


def feature_options(ranges: list[dict[str, Any]]) -> tuple[list[dict[str, str]], str | None]:
    """Every input but free text (which has no range to sweep) can be swept; the first
    numeric one is chosen at first."""
    options = [
        {"label": r["feature"], "value": r["feature"]} for r in ranges if r["kind"] != "text"
    ]
    numeric = [r["feature"] for r in ranges if r["kind"] in ("number", "integer")]
    first = numeric[0] if numeric else (options[0]["value"] if options else None)
    return options, first


def ice_view(curve: Any) -> Any:
    """An ``IceCurve`` as a chart, a message saying why there is none, or the invitation."""
    if curve is None:
        return placeholder(NO_SWEEP_YET)
    if isinstance(curve, str):
        return _note(f"No what-if chart: {curve}", "exclamation-circle")
    return ice_chart(curve.to_dict())


def _note(text: str, icon: str = "info-circle") -> html.Div:
    return html.Div(
        [html.I(className=f"bi bi-{icon} me-1"), text],
        className="small text-body-secondary mb-2 explain-note",
    )
