"""JSON Prediction: a JSON editor and a form built from the signature, with their results."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.answer import FORM_ANSWER, JSON_ANSWER, Answer
from layouts.components import (
    code_block,
    data_grid,
    model_badge,
    placeholder,
    plural,
    section,
)
from layouts.features import compare
from layouts.features.explain import batch_charts, pending_insight, single_row_insight, sureness
from layouts.features.row_explain import pickable, row_slot
from layouts.features.snippets import FORM_SNIPPETS, JSON_SNIPPETS
from layouts.features.whatif import panel as whatif_panel
from layouts.ids import Insight, Json, form_feedback, form_field, form_switch
from services.registry.signature import SignatureInfo
from services.scoring.service import InputCheck, Predictions

NUMERIC_TYPES = {"long", "integer", "double", "float"}
EMPTY_EDITOR = "Type JSON or press Demo input."
SMALL_BATCH = 20  # up to this many rows: the whole answer as JSON; more: summary and table
TOP_CLASSES = 10


def layout() -> html.Div:
    """JSON Prediction. One piece: its component tree reads top to bottom as the page shows
    it (the editor, its answer, the form, its answer), and each part is used once."""
    editor = [
        html.Div(id=Json.EDITOR, className="json-editor border rounded"),
        dcc.Textarea(id=Json.TEXT, value="", className="d-none", persistence=False),
        dcc.Store(id=Json.PROBLEM),
        html.Div(id=Json.EDITOR_DUMMY, hidden=True),
        html.Div(id=Json.VALIDATION, className="small mt-2 validation", role="status"),
        html.Div(
            [
                dbc.Button(
                    [html.I(className="bi bi-magic me-2"), "Demo input"],
                    id=Json.DEMO,
                    color="primary",
                    outline=True,
                    className="me-2",
                ),
                dbc.Button(
                    [html.I(className="bi bi-play-fill me-1"), "Predict"],
                    id=Json.PREDICT,
                    color="primary",
                    disabled=True,
                ),
            ],
            className="mt-3",
        ),
    ]
    form = [
        html.Div(id=Json.FORM_FIELDS),
        html.Div(id=Json.FORM_STATUS, className="small mb-2", role="status"),
        dbc.Button(
            [html.I(className="bi bi-play-fill me-1"), "Predict from form"],
            id=Json.FORM_PREDICT,
            color="primary",
            className="mt-1",
        ),
        html.Div(FORM_ANSWER.layout(), className="mt-3"),
        FORM_SNIPPETS.layout(),
        whatif_panel(),
    ]
    result = [
        JSON_ANSWER.layout(placeholder("Press Predict to see the model's answer here.")),
        JSON_SNIPPETS.layout(),
    ]
    return html.Div(
        [
            html.Div(id=Json.ACTIVE),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            section("JSON input", editor, "braces"),
                            section("Result", result, "stars"),
                            compare.json_section(),
                        ],
                        xl=7,
                    ),
                    dbc.Col(section("Form input", form, "ui-checks"), xl=5),
                ]
            ),
        ]
    )


def validation_empty() -> html.Span:
    return html.Span(EMPTY_EDITOR, className="text-body-secondary")


def validation_ok(check: InputCheck) -> html.Span:
    rows, features = plural(check.rows, "record"), plural(check.features, "feature")
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


def stale_notice(answered_by: str, now: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.I(className="bi bi-clock-history me-2"),
            f"This answer came from {answered_by}; the loaded model is now {now}. "
            "Predict again for its answer.",
        ],
        color="secondary",
        className="py-2 mb-2 stale-notice",
    )


def compact_json(body: dict[str, Any]) -> str:
    """The answer as JSON, lists of plain values on one line (a thousand predictions are
    a paragraph, not a thousand lines)."""
    lines = []
    for key, value in body.items():
        plain = isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)
        text = json.dumps(value, ensure_ascii=False, default=str, indent=None if plain else 2)
        lines.append(f"  {json.dumps(key)}: {text.replace(chr(10), chr(10) + '  ')}")
    return "{\n" + ",\n".join(lines) + "\n}"


def _named(prediction: Any, label: str | None) -> str:
    return f"{prediction} · {label}" if label else str(prediction)


def result_header(answer: Predictions, ref: str | None) -> html.Div:
    return html.Div(
        [
            model_badge(answer.model, answer.version, ref, answer.alias),
            dbc.Badge(
                plural(answer.input_rows, "row"), color="light", text_color="dark", className="ms-2"
            ),
            dbc.Badge(
                f"{answer.latency_ms:.1f} ms", color="light", text_color="dark", className="ms-1"
            ),
        ],
        className="mb-2 d-flex align-items-center flex-wrap gap-1",
    )


def result_view(
    answer: Predictions,
    inputs: list[dict[str, Any]] | None,
    ref: str | None = None,
    download: str | None = None,
    explanation: Any = None,
    label_names: dict[str, str] | None = None,
    slots: Answer | None = None,
) -> html.Div:
    """One row: the answer, large, with its confidence and explanation (in the ``slots`` of
    its answer's place, when they follow it); a small batch: the JSON and a table; a big
    batch: a summary and a paged table; any batch: copy, download and its distribution."""
    labels = answer.labels or [None] * len(answer.predictions)
    children: list[Any] = [result_header(answer, ref)]
    if answer.input_rows == 1 and answer.predictions:
        sure = sureness(answer.probabilities[0] if answer.probabilities else None)
        line = [
            _named(answer.predictions[0], labels[0]),
            html.Span(sure, id=slots.confidence) if slots else sure,
        ]
        children.append(html.Div(line, className="fs-4 fw-semibold mb-2 single-answer"))
        children.append(
            pending_insight(slots.insight)
            if slots
            else single_row_insight(answer, explanation, label_names)
        )
    elif answer.input_rows > 1:
        children.append(batch_charts(answer, label_names))
    if answer.input_rows <= SMALL_BATCH:
        children.append(code_block(compact_json(answer.to_dict()), "json"))
    else:
        children.append(batch_summary(answer))
    if answer.input_rows > 1:
        children.append(batch_actions(answer, download))
    if inputs and len(inputs) > 1:
        children.append(_answer_grid(answer, inputs, labels))
    return html.Div(children, className="prediction-result")


def batch_summary(answer: Predictions) -> html.Div:
    names = answer.labels or [None] * len(answer.predictions)
    values = [_named(p, name) for p, name in zip(answer.predictions, names, strict=True)]
    numeric = [p for p in answer.predictions if isinstance(p, float)]
    if numeric and len(numeric) == len(answer.predictions):
        ordered = sorted(numeric)
        middle = ordered[len(ordered) // 2]
        text = f"min {ordered[0]:,.4g} · median {middle:,.4g} · max {ordered[-1]:,.4g}"
        return html.P(["Predictions: ", html.Strong(text)], className="mb-2")
    counts = Counter(values).most_common(TOP_CLASSES)
    return html.P(
        ["Predictions: "]
        + [
            html.Span([html.Strong(value), f" × {count:,}"], className="me-3")
            for value, count in counts
        ],
        className="mb-2",
    )


def batch_actions(answer: Predictions, download: str | None) -> html.Div:
    copy = html.Span(
        [
            dcc.Clipboard(
                content=json.dumps(answer.to_dict(), default=str),
                title="Copy the answer as JSON",
                className="d-inline-block me-1",
            ),
            "Copy JSON",
        ],
        className="btn btn-outline-secondary btn-sm me-2",
    )
    actions: list[Any] = [copy]
    if download:
        link = html.A(
            [html.I(className="bi bi-download me-1"), "Download CSV"],
            href=download,
            className="btn btn-outline-success btn-sm",
        )
        actions.append(link)
    return html.Div(actions, className="mb-2")


def _answer_grid(answer: Predictions, inputs: list[dict[str, Any]], labels: list) -> Any:
    named = {"label": None} if answer.labels else {}
    rows = [
        {**record, "prediction": _cell(p), **({"label": label} if named else {})}
        for record, p, label in zip(inputs, answer.predictions, labels, strict=False)
    ]
    columns = [*inputs[0].keys(), "prediction", *(["label"] if answer.labels else [])]
    grid = pickable(data_grid(rows, columns), Insight.JSON_GRID)
    return html.Div([grid, row_slot(Insight.JSON_ROW)])


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def form_fields(
    signature: SignatureInfo,
    example: dict[str, Any] | None,
    below: dict[str, Any] | None = None,
    free_text: frozenset[str] = frozenset(),
) -> Any:
    """A field per column; ``below``: a what-if control under a field (layouts/whatif.py);
    ``free_text``: columns that get a box of several lines (services/explain/text.py)."""
    if signature.is_tensor or not signature.columns:
        return dbc.Alert(
            "This model has no named input columns, so there is no form: use JSON input.",
            color="light",
            className="mb-2",
        )
    example, below = example or {}, below or {}
    return dbc.Row(
        [
            text_field(c.name, c.required, example.get(c.name))
            if c.name in free_text and c.type == "string"
            else dbc.Col(
                _field(c.name, c.type, c.required, example.get(c.name), below.get(c.name)), md=6
            )
            for c in signature.columns
        ]
    )


def _field(name: str, type_name: str, required: bool, value: Any, below: Any = None) -> html.Div:
    mark = html.Span(" *", className="text-danger", title="required") if required else None
    label = dbc.Label(
        [name, mark, html.Span(f" {type_name}", className="text-body-secondary small")]
    )
    if type_name == "boolean":  # named by its column: on or off is the switch's own state
        switch_label = [
            name,
            mark,
            html.Span(f" {type_name}", className="text-body-secondary small"),
        ]
        control: Any = dbc.Switch(id=form_switch(name), value=bool(value), label=switch_label)
        return html.Div(control, className="mb-2 form-boolean")
    hint = (
        "a whole number"
        if type_name in {"long", "integer"}
        else ("a number, e.g. 3.5" if type_name in NUMERIC_TYPES else "text")
    )
    control = dbc.Input(
        id=form_field(name),
        type="text",
        value=_shown(value),
        debounce=300,
        placeholder=hint,
        required=required,
        inputmode="decimal" if type_name in NUMERIC_TYPES else "text",
    )
    feedback = dbc.FormFeedback(id=form_feedback(name), type="invalid")
    if below is not None:  # a slider or a list: named after its field by assets/05-a11y.js
        below = html.Div(below, **{"data-a11y-name": f"{name}, what-if"})
    # dbc.Label cannot point at a pattern-matching id: the field is named the same way
    return html.Div([label, control, feedback, below], className="mb-2", **{"data-a11y-name": name})


TEXT_ROWS = 5


def text_field(name: str, required: bool, value: Any) -> dbc.Col:
    """Free text (a review, a message): a box of several lines across the form, with no list
    of categories, since no two texts are alike."""
    mark = html.Span(" *", className="text-danger", title="required") if required else None
    label = dbc.Label(
        [name, mark, html.Span(" string · free text", className="text-body-secondary small")]
    )
    box = dbc.Textarea(
        id=form_field(name),
        value=_shown(value),
        rows=TEXT_ROWS,
        debounce=True,
        placeholder="text",
        required=required,
        className="form-text-box",
    )
    feedback = dbc.FormFeedback(id=form_feedback(name), type="invalid")
    named = {"data-a11y-name": name}
    return dbc.Col(html.Div([label, box, feedback], className="mb-2", **named), md=12)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def form_status(problems: int) -> Any:
    if not problems:
        return None
    return html.Span(
        [
            html.I(className="bi bi-exclamation-triangle-fill me-1"),
            f"{plural(problems, 'field needs', 'fields need')} attention before predicting.",
        ],
        className="text-danger",
    )
