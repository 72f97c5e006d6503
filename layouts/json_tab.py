"""JSON Prediction: a JSON editor and a form built from the signature, with their results."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import data_grid, json_block, placeholder, section
from layouts.ids import Json, form_field
from services.registry.signature import SignatureInfo
from services.scoring.service import InputCheck, Predictions

NUMERIC_TYPES = {"long", "integer", "double", "float"}
EMPTY_EDITOR = "Type JSON or press Demo input."


def layout() -> html.Div:
    editor = [
        html.Div(id=Json.EDITOR, className="json-editor border rounded"),
        dcc.Textarea(id=Json.TEXT, value="", className="d-none", persistence=False),
        html.Div(id=Json.EDITOR_DUMMY, hidden=True),
        html.Div(id=Json.VALIDATION, className="small mt-2 validation", role="status"),
        html.Div(
            [
                dbc.Button(
                    [html.I(className="bi bi-magic me-2"), "Demo input"],
                    id=Json.DEMO,
                    color="secondary",
                    outline=True,
                    className="me-2",
                ),
                dbc.Button(
                    [html.I(className="bi bi-play-fill me-1"), "Predict"],
                    id=Json.PREDICT,
                    color="primary",
                ),
            ],
            className="mt-3",
        ),
    ]
    form = [
        html.Div(id=Json.FORM_FIELDS),
        dbc.Button(
            [html.I(className="bi bi-play-fill me-1"), "Predict from form"],
            id=Json.FORM_PREDICT,
            color="primary",
            className="mt-2",
        ),
        dcc.Loading(html.Div(id=Json.FORM_RESULT, className="mt-3"), type="dot"),
    ]
    return dbc.Row(
        [
            dbc.Col(
                [
                    section("JSON input", editor, "braces"),
                    section(
                        "Result",
                        dcc.Loading(
                            html.Div(
                                placeholder("Press Predict to see the model's answer here."),
                                id=Json.RESULT,
                            ),
                            type="dot",
                        ),
                        "stars",
                    ),
                ],
                xl=7,
            ),
            dbc.Col(section("Form input", form, "ui-checks"), xl=5),
        ]
    )


def validation_empty() -> html.Span:
    return html.Span(EMPTY_EDITOR, className="text-body-secondary")


def validation_ok(check: InputCheck) -> html.Span:
    rows = f"{check.rows} record{'s' if check.rows != 1 else ''}"
    features = f"{check.features} feature{'s' if check.features != 1 else ''}"
    ignored = f"; ignored: {', '.join(check.ignored_columns)}" if check.ignored_columns else ""
    return html.Span(
        [html.I(className="bi bi-check-circle-fill me-1"), f"valid — {rows}, {features}{ignored}"],
        className="text-success",
    )


def validation_problem(message: str) -> html.Span:
    return html.Span(
        [html.I(className="bi bi-exclamation-triangle-fill me-1"), message],
        className="text-danger",
    )


def result_view(result: Predictions, inputs: list[dict[str, Any]] | None) -> html.Div:
    """Formatted JSON of the result and, for several records, inputs with their predictions."""
    children: list[Any] = [
        html.Div(
            [
                dbc.Badge(f"{result.input_rows} rows", color="secondary", className="me-1"),
                dbc.Badge(f"{result.latency_ms:.1f} ms", color="secondary", className="me-1"),
                dbc.Badge(f"version {result.version}", color="primary"),
            ],
            className="mb-2",
        ),
        json_block(result.to_dict()),
    ]
    if inputs and len(inputs) > 1:
        rows = [
            {**record, "prediction": _cell(prediction)}
            for record, prediction in zip(inputs, result.predictions, strict=False)
        ]
        columns = [*inputs[0].keys(), "prediction"]
        children.append(data_grid(rows, columns))
    return html.Div(children, className="prediction-result")


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def form_fields(signature: SignatureInfo, example: dict[str, Any] | None) -> Any:
    if signature.is_tensor or not signature.columns:
        return dbc.Alert(
            "This model has no named input columns, so there is no form: use JSON input.",
            color="light",
            className="mb-2",
        )
    example = example or {}
    return dbc.Row([dbc.Col(_field(c.name, c.type, example.get(c.name)), md=6)
                    for c in signature.columns])  # fmt: skip


def _field(name: str, type_name: str, value: Any) -> html.Div:
    label = dbc.Label([name, html.Span(f" {type_name}", className="text-body-secondary small")])
    if type_name == "boolean":
        control: Any = dbc.Switch(id=form_field(name), value=bool(value), label="true")
    elif type_name in NUMERIC_TYPES:
        step = 1 if type_name in {"long", "integer"} else "any"
        control = dbc.Input(id=form_field(name), type="number", value=value, step=step)
    else:
        control = dbc.Input(id=form_field(name), type="text", value=value)
    return html.Div([label, control], className="mb-2")
