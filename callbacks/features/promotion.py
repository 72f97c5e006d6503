"""The loaded model's aliases and traffic split: the panel drawn from what the registry says
(the caller's right asked each time), and each control's one call to PromotionService.
Nothing the page sends decides a permission: every move is checked again on the server."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from layouts.components import error_alert
from layouts.csv_tab import hidden_or_shown
from layouts.features.promotion import (
    alias_names,
    confirmation_body,
    confirmation_frame,
    history_view,
    moved_message,
    needs_confirmation,
    pending_move,
    permission_view,
    version_options,
)
from layouts.ids import Page, Promote
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput, VersionNotFound
from services.monitor.split import SPLIT_TAG, parse_split
from services.registry.promotion import Moved
from services.wiring import ConsoleServices

LOCKED = {"set": True, "delete": True, "split": True}


def weights_from_text(name: str, text: str | None) -> dict[str, int]:
    """``Champion:90,Challenger:10`` → weights, in the order given (arms at weight 0 too)."""
    if not text or not text.strip():
        raise InvalidInput("Write the split as arm:weight pairs.", hint="Champion:90,Challenger:10")
    parse_split(name, text)  # says what does not read, in the tag's own terms
    pairs = (part.split(":", 1) for part in text.split(","))
    return {ref.strip(): int(weight) for ref, weight in pairs}


def _moved_text(moved: Moved) -> str:
    return moved.move.text


class PromotionCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.registry = services.registry
        self.promotion = services.promotion

    def panel(self, selection: Any, changed: int | None) -> dict[str, Any]:
        """The panel as the registry shows it now, for this caller."""
        loaded = Selection.from_store(selection)
        if loaded is None:
            return {
                "shown": hidden_or_shown(False),
                **{k: no_update for k in PANEL if k != "shown"},
            }
        caller = current_caller()
        try:
            model = self.registry.model_detail(caller, loaded.name, Source.UI)
            verdict = self.promotion.can_manage(caller, loaded.name)
            moves = self.promotion.alias_history(caller, loaded.name, source=Source.UI)
        except ConsoleError as error:
            return {
                **{k: no_update for k in PANEL},
                "shown": hidden_or_shown(True),
                "permission": error_alert(error),
                **LOCKED,
            }
        return {
            "shown": hidden_or_shown(True),
            "permission": permission_view(verdict),
            "set": not verdict.may_move,
            "delete": not verdict.may_delete,
            "split": not verdict.may_move,
            "versions": version_options(model),
            "names": alias_names(model),
            "history": history_view(moves, verdict.may_move),
            "split_text": model.summary.tags.get(SPLIT_TAG, ""),
        }

    def ask(
        self,
        clicks: int | None,
        alias: str | None,
        version: str | None,
        selection: Any,
        changed: int | None,
    ) -> dict[str, Any]:
        """Set alias: Champion asks first (with the evidence); any other moves at once."""
        loaded = Selection.from_store(selection)
        alias, version = (alias or "").strip(), version or ""
        if loaded is None or not clicks:
            return {k: no_update for k in ASK}
        move = {"action": "set", "name": loaded.name, "alias": alias, "version": version}
        return self._asked(move, changed)

    def delete(
        self, clicks: int | None, alias: str | None, selection: Any, changed: int | None
    ) -> dict[str, Any]:
        """Delete alias: Champion asks first; any other goes at once."""
        loaded = Selection.from_store(selection)
        if loaded is None or not clicks:
            return {k: no_update for k in ASK}
        move = {"action": "delete", "name": loaded.name, "alias": (alias or "").strip()}
        return self._asked(move, changed)

    def rollback(
        self, clicks: list[int | None], selection: Any, changed: int | None
    ) -> dict[str, Any]:
        """Roll back from the history: Champion asks first (where it goes, the evidence)."""
        loaded, pressed = Selection.from_store(selection), ctx.triggered_id
        if loaded is None or not pressed or not any(clicks):
            return {k: no_update for k in ASK}
        move = {"action": "rollback", "name": loaded.name, "alias": str(pressed["alias"])}
        return self._asked(move, changed)

    def confirm(self, clicks: int | None, pending: Any, changed: int | None) -> dict[str, Any]:
        move = pending_move(pending)
        if not clicks or move is None:
            return {"open": False, "status": no_update, "changed": no_update}
        return {"open": False, **self._done(lambda: self._apply(move), changed)}

    def cancel(self, clicks: int | None) -> bool:
        return False

    def _asked(self, move: dict[str, Any], changed: int | None) -> dict[str, Any]:
        """A change of an alias that guards production (Champion) opens the confirmation
        with what will happen and the evidence; any other is made at once."""
        if not needs_confirmation(move["alias"]):
            return {
                **{k: no_update for k in ASK if k not in ("status", "changed")},
                **self._done(lambda: self._apply(move), changed),
            }
        try:
            body = self._confirmation(move)
        except ConsoleError as error:
            return {**{k: no_update for k in ASK}, "status": error_alert(error)}
        title, button, color = confirmation_frame(move["action"], move["alias"])
        return {
            "open": True,
            "title": title,
            "body": body,
            "pending": move,
            "confirm": button,
            "confirm_color": color,
            "status": None,
            "changed": no_update,
        }

    def _confirmation(self, move: dict[str, Any]) -> list[Any]:
        caller, name, alias = current_caller(), move["name"], move["alias"]
        try:
            previous = self.registry.resolve(caller, name, alias).version
        except VersionNotFound:
            previous = None
        if move["action"] == "delete":
            return confirmation_body(alias, previous, None, None)
        if move["action"] == "rollback":
            version = self.promotion.rollback_target(caller, name, alias)
            if version is None:
                return [html.P(f"{alias} has no earlier version to go back to.")]
        else:
            version = move["version"]
        between = tuple(v for v in (previous, version) if v)
        evidence = self.promotion.latest_evidence(caller, name, between)
        return confirmation_body(alias, previous, version, evidence)

    def _apply(self, move: dict[str, Any]) -> Moved:
        caller, name, alias = current_caller(), move["name"], move["alias"]
        if move["action"] == "delete":
            return self.promotion.delete_alias(caller, name, alias, Source.UI)
        if move["action"] == "rollback":
            return self.promotion.rollback(caller, name, alias, Source.UI)
        return self.promotion.set_alias(caller, name, alias, move["version"], source=Source.UI)

    def save_split(
        self, clicks: int | None, text: str | None, selection: Any, changed: int | None
    ) -> dict[str, Any]:
        loaded = Selection.from_store(selection)
        if loaded is None or not clicks:
            return {"status": no_update, "changed": no_update}

        def save() -> str:
            weights = weights_from_text(loaded.name, text)
            split = self.promotion.set_split(current_caller(), loaded.name, weights, Source.UI)
            shares = ", ".join(f"{a.ref} {a.weight}" for a in split.arms)
            return f"Traffic split saved: {shares}."

        return self._done(save, changed)

    def _done(self, action: Any, changed: int | None) -> dict[str, Any]:
        """The action's outcome in words; the panel redraws after a change."""
        try:
            outcome = action()
        except ConsoleError as error:
            return {"status": error_alert(error), "changed": no_update}
        text = outcome if isinstance(outcome, str) else _moved_text(outcome)
        return {"status": moved_message(text), "changed": (changed or 0) + 1}


PANEL = {
    "shown": Output(Promote.SECTION, "style"),
    "permission": Output(Promote.PERMISSION, "children"),
    "set": Output(Promote.SET, "disabled"),
    "delete": Output(Promote.DELETE, "disabled"),
    "split": Output(Promote.SPLIT_SAVE, "disabled"),
    "versions": Output(Promote.VERSION, "options"),
    "names": Output(Promote.ALIAS_NAMES, "children"),
    "history": Output(Promote.HISTORY, "children"),
    "split_text": Output(Promote.SPLIT, "value"),
}
ASK = {
    "open": Output(Promote.MODAL, "is_open"),
    "body": Output(Promote.MODAL_BODY, "children"),
    "pending": Output(Promote.PENDING, "data"),
    "title": Output(Promote.MODAL_TITLE, "children"),
    "confirm": Output(Promote.CONFIRM, "children"),
    "confirm_color": Output(Promote.CONFIRM, "color"),
    "status": Output(Promote.STATUS, "children"),
    "changed": Output(Promote.CHANGED, "data"),
}


def _outcome() -> dict[str, Output]:
    return {
        "status": Output(Promote.STATUS, "children", allow_duplicate=True),
        "changed": Output(Promote.CHANGED, "data", allow_duplicate=True),
    }


def _asking() -> dict[str, Output]:
    """ASK, for the callbacks other than Set's that may open the confirmation too."""
    return {
        key: Output(output.component_id, output.component_property, allow_duplicate=True)
        for key, output in ASK.items()
    }


def register(app: dash.Dash, services: ConsoleServices) -> PromotionCallbacks:
    callbacks = PromotionCallbacks(services)
    selection = State(Page.SELECTION, "data")
    changed = State(Promote.CHANGED, "data")
    app.callback(
        output=PANEL,
        inputs={
            "selection": Input(Page.SELECTION, "data"),
            "changed": Input(Promote.CHANGED, "data"),
        },
    )(callbacks.panel)
    app.callback(
        output=ASK,
        inputs={"clicks": Input(Promote.SET, "n_clicks")},
        state={
            "alias": State(Promote.ALIAS, "value"),
            "version": State(Promote.VERSION, "value"),
            "selection": selection,
            "changed": changed,
        },
        prevent_initial_call=True,
    )(callbacks.ask)
    app.callback(
        output={"open": Output(Promote.MODAL, "is_open", allow_duplicate=True), **_outcome()},
        inputs={"clicks": Input(Promote.CONFIRM, "n_clicks")},
        state={"pending": State(Promote.PENDING, "data"), "changed": changed},
        prevent_initial_call=True,
    )(callbacks.confirm)
    app.callback(
        output=Output(Promote.MODAL, "is_open", allow_duplicate=True),
        inputs={"clicks": Input(Promote.CANCEL, "n_clicks")},
        prevent_initial_call=True,
    )(callbacks.cancel)
    app.callback(
        output=_asking(),
        inputs={"clicks": Input(Promote.DELETE, "n_clicks")},
        state={"alias": State(Promote.ALIAS, "value"), "selection": selection, "changed": changed},
        prevent_initial_call=True,
    )(callbacks.delete)
    app.callback(
        output=_asking(),
        inputs={"clicks": Input({"type": Promote.ROLLBACK, "alias": ALL}, "n_clicks")},
        state={"selection": selection, "changed": changed},
        prevent_initial_call=True,
    )(callbacks.rollback)
    app.callback(
        output=_outcome(),
        inputs={"clicks": Input(Promote.SPLIT_SAVE, "n_clicks")},
        state={"text": State(Promote.SPLIT, "value"), "selection": selection, "changed": changed},
        prevent_initial_call=True,
    )(callbacks.save_split)
    return callbacks
