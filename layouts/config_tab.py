"""Model Configuration: pick a model and a version, see what it is."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import facts, key_value_table, section, selection_badge
from layouts.features import promotion
from layouts.ids import Config
from layouts.selection import Selection
from services.registry.dependencies import ModelEnvironment, RequirementCheck, State
from services.registry.markdown import safe_markdown
from services.registry.signature import SignatureInfo
from services.registry.types import ModelDetail, VersionDetail


def _picker(label: str, picker_id: str, default: str | None, example: str, **width: int) -> Any:
    """A searchable dropdown that also takes typed text (the callbacks add it as an option)."""
    dropdown = dcc.Dropdown(
        id=picker_id,
        options=[default] if default else [],
        value=default,
        searchable=True,
        clearable=False,
        placeholder=example,
    )
    return dbc.Col([dbc.Label(label, html_for=picker_id), dropdown], className="mb-2", **width)


def layout(default_model: str | None, default_version: str | None) -> html.Div:
    """Model Configuration. One piece: its component tree reads top to bottom as the page
    shows it, and each part is used once."""
    picker = dbc.Row(
        [
            _picker(
                "Model name", Config.MODEL, default_model, "main.ml_models.iris_classifier", lg=6
            ),
            _picker(
                "Version or alias",
                Config.VERSION,
                default_version,
                "1, Champion or latest",
                lg=3,
                sm=8,
            ),
            dbc.Col(
                dbc.Button(
                    [html.I(className="bi bi-box-arrow-in-down me-2"), "Load Model"],
                    id=Config.LOAD,
                    color="primary",
                    className="w-100",
                ),
                lg=3,
                sm=4,
                className="mb-2 d-flex align-items-end",
            ),
        ],
        className="g-2",
    )
    hint = dbc.FormText(
        "Pick a registered model or type its full three-part name; pick or type a version "
        "number, an alias or 'latest'."
    )
    next_steps = html.Div(
        [
            html.Span("Next:", className="me-2"),
            dbc.Button(
                [html.I(className="bi bi-braces me-1"), "Try it with JSON or a form"],
                id=Config.GO_JSON,
                color="primary",
                outline=True,
                size="sm",
                className="me-2",
            ),
            dbc.Button(
                [html.I(className="bi bi-file-earmark-spreadsheet me-1"), "Score a CSV file"],
                id=Config.GO_CSV,
                color="primary",
                outline=True,
                size="sm",
            ),
        ],
        id=Config.NEXT,
        className="d-flex align-items-center flex-wrap gap-1 mb-3",
        style={"display": "none"},
    )
    return html.Div(
        [
            section("Choose a model", [picker, hint, html.Div(id=Config.PENDING)], "search"),
            dcc.Loading(html.Div(id=Config.STATUS, className="mb-3"), type="dot"),
            next_steps,
            html.Div(id=Config.DETAILS),
            promotion.layout(),
            dcc.Loading(html.Div(id=Config.IMPORTANCE, className="mt-3"), type="dot"),
        ]
    )


def reached_by(ref: str, alias: str | None) -> str:
    """How a reference reached its version, in words: ``(alias Champion)``, ``(latest)``."""
    if alias:
        return f" (alias {alias})"
    return " (latest)" if ref.lower() == "latest" else ""


def loaded_message(detail: VersionDetail, ref: str) -> dbc.Alert:
    resolved = detail.resolved
    return dbc.Alert(
        [
            html.I(className="bi bi-check-circle me-2"),
            f"Loaded {resolved.name} version {resolved.version}"
            f"{reached_by(ref, resolved.alias)}. Predictions in every tab now use this version.",
        ],
        color="success",
        className="mb-0",
    )


def not_loaded(name: str | None, ref: str | None, selection: Selection | None) -> Any:
    """The picker shows something other than the loaded model: say which one answers."""
    if not name or (selection and (name, ref) == (selection.name, selection.ref)):
        return None
    chosen = f"{name} {ref}" if ref else name
    if selection is None:
        text: list[Any] = [f"{chosen} is not loaded yet: press Load Model to use it."]
    else:
        text = [
            f"{chosen} is not loaded: predictions still use ",
            selection_badge(selection),
            ". Press Load Model to switch.",
        ]
    return dbc.Alert(
        [html.I(className="bi bi-info-circle me-2"), *text],
        color="info",
        className="py-2 mt-2 mb-0 not-loaded",
    )


def still_using(selection: Selection | None) -> Any:
    """Under a failed load: nothing changed."""
    if selection is None:
        return None
    return html.Div(
        ["Nothing changed: predictions still use ", selection_badge(selection), "."],
        className="small mt-2",
    )


def signature_table(signature: SignatureInfo) -> Any:
    if not signature.present:
        return html.P(
            "This version has no signature: input is sent to the model as given.",
            className="text-body-secondary mb-0",
        )
    if signature.is_tensor:
        head = ["Input", "Type", "Shape"]
        rows = [[t.name or "(unnamed)", t.dtype, str(list(t.shape))] for t in signature.tensors]
    else:
        head = ["Column", "Type", "Required"]
        rows = [[c.name, c.type, "yes" if c.required else "optional"] for c in signature.columns]
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows]),
        ],
        size="sm",
        striped=True,
        responsive=True,
        className="mb-0 signature-table",
    )


def _outputs(signature: SignatureInfo) -> str:
    parts = [
        f"{getattr(o, 'name', None) or 'prediction'}: "
        f"{getattr(o, 'type', None) or getattr(o, 'dtype', '')}"
        for o in signature.outputs
    ]
    return ", ".join(parts)


def _versions_table(model: ModelDetail) -> dbc.Table:
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("Version", "Aliases", "Status", "Created")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(v.version),
                            html.Td(", ".join(v.aliases) or "—"),
                            html.Td(v.status),
                            html.Td(v.created),
                        ]
                    )
                    for v in model.versions
                ]
            ),
        ],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
    )


def details(detail: VersionDetail, model: ModelDetail) -> html.Div:
    info = detail.info
    description = "\n\n".join(
        part for part in (model.summary.description, info.description) if part
    )
    overview = facts(
        [
            ("Model", model.summary.name),
            ("Version", info.version),
            ("Aliases", ", ".join(info.aliases) or "—"),
            ("Status", info.status),
            ("Stage", info.stage),
            ("Created", info.created),
            ("Run", info.run_id),
            ("Source", info.source),
            ("Flavors", ", ".join(detail.files.flavors)),
            ("Outputs", _outputs(detail.signature)),
        ]
    )
    tags = {**model.summary.tags, **info.tags}
    return dbc.Row(
        [
            dbc.Col(
                [
                    section("Version", overview, "info-circle"),
                    section(
                        "Description",
                        dcc.Markdown(
                            safe_markdown(description) or "*No description.*",
                            link_target="_blank",
                            className="model-description",
                        ),
                        "card-text",
                    ),
                    section("Versions", _versions_table(model), "clock-history"),
                ],
                lg=7,
            ),
            dbc.Col(
                [
                    section("Signature", signature_table(detail.signature), "table"),
                    environment_section(detail.environment),
                    section("Tags", key_value_table(tags, ("Tag", "Value")), "tags"),
                ],
                lg=5,
            ),
        ]
    )


STATE_COLORS = {
    State.INSTALLED: "success",
    State.OTHER_VERSION: "warning",
    State.MISSING: "danger",
    State.NOT_CHECKED: "secondary",
}


def environment_section(environment: ModelEnvironment) -> dbc.Card:
    """What the model was logged with beside what this console has installed."""
    return section("Environment", environment_table(environment), "box-seam")


def environment_table(environment: ModelEnvironment) -> Any:
    python = html.Tr(
        [
            html.Td("Python"),
            html.Td(environment.python or "not recorded"),
            html.Td(environment.python_here),
            html.Td(_python_state(environment)),
        ]
    )
    rows = [python, *(_requirement_row(r) for r in environment.requirements)]
    source = (
        f"From the model's {environment.source}."
        if environment.source
        else "The model's files list no pip requirements."
    )
    return html.Div(
        [
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(h) for h in ("Needs", "Logged", "Here", "")])),
                    html.Tbody(rows),
                ],
                size="sm",
                responsive=True,
                className="mb-1 environment-table",
            ),
            html.Div(source, className="small text-body-secondary"),
        ]
    )


def _python_state(environment: ModelEnvironment) -> Any:
    if environment.python_note is None:
        return dbc.Badge("same", color="success")
    return dbc.Badge("differs", color="warning", title=environment.python_note)


def _requirement_row(requirement: RequirementCheck) -> html.Tr:
    logged = requirement.line.removeprefix(requirement.package).strip() or "any version"
    badge = dbc.Badge(
        requirement.state.value,
        color=STATE_COLORS[requirement.state],
        title=requirement.note or None,
    )
    return html.Tr(
        [
            html.Td(requirement.package),
            html.Td(logged),
            html.Td(requirement.installed or "—"),
            html.Td(badge),
        ],
        className=f"requirement-{requirement.state.name.lower().replace('_', '-')}",
    )
