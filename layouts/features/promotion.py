"""Aliases and the traffic split of the loaded model, in Model Configuration: set, move or
delete an alias, its history with Roll back, the split's weights, and the confirmation a
move of Champion asks for (with the latest evaluation of the two versions, when there is
one). Every control is enabled only once the registry has said the caller may."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import section
from layouts.ids import Promote, rollback_button
from services.registry.alias_history import SPLIT, AliasMove
from services.registry.manage_rights import ManageVerdict
from services.registry.promotion import Evidence
from services.registry.types import ModelDetail

CONFIRMED_ALIASES = {"champion"}  # moving these asks first: they serve production traffic


ACTIONS = ("set", "delete", "rollback")
# each action's confirmation: its title (of the alias), its button, the button's colour
CONFIRMATIONS = {
    "set": ("Move {alias}?", "Promote", "primary"),
    "rollback": ("Roll {alias} back?", "Roll back", "primary"),
    "delete": ("Delete {alias}?", "Delete alias", "danger"),
}


def confirmation_frame(action: str, alias: str) -> tuple[str, str, str]:
    """The confirmation's title, button text and button colour for ``action``."""
    title, button, color = CONFIRMATIONS[action]
    return title.format(alias=alias), button, color


def pending_move(value: Any) -> dict[str, Any] | None:
    """The change waiting for its confirmation, read back to its shape (``layouts/stores``):
    what to do to which alias of which model (a version for "set"). It decides nothing:
    the change is checked on the server, with the caller's rights, when confirmed."""
    if not isinstance(value, dict) or value.get("action") not in ACTIONS:
        return None
    fields = ("name", "alias", "version") if value["action"] == "set" else ("name", "alias")
    if not all(isinstance(value.get(k), str) and value.get(k) for k in fields):
        return None
    return value


def needs_confirmation(alias: str) -> bool:
    return alias.lower() in CONFIRMED_ALIASES


def _labelled(label: str, control: Any, **width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control.id), control], className="mb-2", **width)


def _alias_controls() -> dbc.Row:
    alias = dbc.Input(
        id=Promote.ALIAS, type="text", list=Promote.ALIAS_NAMES, placeholder="Champion"
    )
    version = dbc.Select(id=Promote.VERSION, options=[])
    buttons = html.Div(
        [
            dbc.Button("Set alias", id=Promote.SET, color="primary", disabled=True),
            dbc.Button(
                "Delete alias", id=Promote.DELETE, color="danger", outline=True, disabled=True
            ),
        ],
        className="d-flex gap-2",
    )
    return dbc.Row(
        [
            _labelled("Alias", alias, md=4),
            _labelled("Version it points to", version, md=3),
            dbc.Col(buttons, md=5, className="mb-2 d-flex align-items-end"),
            html.Datalist(id=Promote.ALIAS_NAMES),
        ],
        className="g-2",
    )


def _split_controls() -> html.Div:
    text = dbc.Input(id=Promote.SPLIT, type="text", placeholder="Champion:90,Challenger:10")
    return html.Div(
        [
            dbc.Label("Traffic split (arm:weight, adding up to 100)", html_for=Promote.SPLIT),
            dbc.InputGroup([text, dbc.Button("Save split", id=Promote.SPLIT_SAVE, disabled=True)]),
            dbc.FormText("Arms are aliases or version numbers, for example Champion:90,2:10."),
        ],
        className="mt-3",
    )


def _confirmation() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Move Champion?", id=Promote.MODAL_TITLE)),  # as asked
            dbc.ModalBody(id=Promote.MODAL_BODY),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=Promote.CANCEL, color="secondary", outline=True),
                    dbc.Button("Promote", id=Promote.CONFIRM, color="primary"),  # as asked
                ]
            ),
        ],
        id=Promote.MODAL,
        is_open=False,
        labelledby=Promote.MODAL_TITLE,
    )


def layout() -> html.Div:
    body = [
        html.Div(id=Promote.PERMISSION),
        _alias_controls(),
        html.Div(id=Promote.STATUS, role="status", **{"aria-live": "polite"}),
        html.H3("History", className="h6 mt-3"),
        html.Div(id=Promote.HISTORY),
        _split_controls(),
        _confirmation(),
        dcc.Store(id=Promote.PENDING),
        dcc.Store(id=Promote.CHANGED, data=0),
    ]
    return html.Div(
        section("Aliases and traffic", body, "signpost-split"),
        id=Promote.SECTION,
        style={"display": "none"},
    )


def permission_view(verdict: ManageVerdict) -> Any:
    """Said above the controls: why they are off, or what the caller holds."""
    if verdict.may_move:
        return html.Div(verdict.reason, className="small text-body-secondary mb-2")
    return dbc.Alert(
        [html.I(className="bi bi-lock me-2"), verdict.reason],
        color="secondary",
        className="py-2 mb-2 promote-locked",
    )


def version_options(model: ModelDetail) -> list[dict[str, str]]:
    return [
        {
            "label": f"{v.version}" + (f" ({', '.join(v.aliases)})" if v.aliases else ""),
            "value": v.version,
        }
        for v in model.versions
    ]


def alias_names(model: ModelDetail) -> list[Any]:
    names = sorted({*model.summary.aliases, "Champion", "Challenger", "Staging"})
    return [html.Option(value=name) for name in names]


def history_view(moves: list[AliasMove], may_move: bool) -> Any:
    """Each alias's moves, newest first, with Roll back where there is a version to go to."""
    if not moves:
        return html.P("No alias has been moved in the console yet.", className="small mb-0")
    by_alias: dict[str, list[AliasMove]] = {}
    for move in moves:
        by_alias.setdefault(move.alias if move.kind != SPLIT else "", []).append(move)
    return html.Ul(
        [_alias_history(alias, listed, may_move) for alias, listed in by_alias.items()],
        className="list-unstyled mb-0 promote-history",
    )


def _alias_history(alias: str, moves: list[AliasMove], may_move: bool) -> html.Li:
    texts = html.Span(", ".join(move.text for move in moves))
    last = moves[0]
    if not alias or last.from_version is None:
        return html.Li(texts, className="mb-1")
    # a plain button: dbc.Button takes no aria-label, and the visible text alone does not
    # say which alias, nor where to
    button = html.Button(
        "Roll back",
        id=rollback_button(alias),
        type="button",
        disabled=not may_move,
        className="btn btn-sm btn-outline-warning ms-2",
        title=f"Move {alias} back to version {last.from_version}",
        **{"aria-label": f"Roll back {alias} to version {last.from_version}"},
    )
    return html.Li([texts, button], className="mb-1")


def confirmation_body(
    alias: str, previous: str | None, version: str | None, evidence: Evidence | None
) -> list[Any]:
    """What the person decides on: the move (``version`` None: the alias deleted), and the
    evidence for it (or that there is none)."""
    start = f"version {previous}" if previous else "nowhere (it is new)"
    if version is None:
        return [
            html.P(f"{alias} points to {start}; it will be deleted."),
            html.P(f"Every prediction through {alias} will fail until it is set again."),
        ]
    lines: list[Any] = [html.P(f"{alias} points to {start}; it will point to version {version}.")]
    if evidence is None:
        lines.append(
            html.P(
                "No evaluation of these versions against a label column yet.",
                className="small text-body-secondary promote-no-evidence",
            )
        )
    else:
        lines.append(html.P(evidence.summary, className="promote-evidence"))
    lines.append(html.P(f"Every prediction through {alias} will use version {version}."))
    return lines


def moved_message(text: str) -> dbc.Alert:
    return dbc.Alert(
        [html.I(className="bi bi-check-circle me-2"), text],
        color="success",
        className="py-2 mt-2 mb-0",
    )
