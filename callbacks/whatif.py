"""What-if on the form: sliders and category lists kept in step with the text fields, and
every change predicting again at once (prediction, confidence, waterfall and the ICE chart).

What-if answers are audited like any prediction, but not kept in Prediction History: a
slider dragged across its range would push every earlier entry out."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import selected, show_error
from layouts.ids import Insight, Json, Page, form_field, form_switch, whatif_choice, whatif_slider
from layouts.json_tab import form_status, result_view
from layouts.whatif import (
    FILL_THE_FORM,
    controls,
    feature_options,
    ice_view,
    slider_text,
    space_note,
)
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.explain.service import ExplainService
from services.scoring.form import WHOLE, read_form
from services.scoring.service import ScoringService
from services.wiring import ConsoleServices


def form_controls(
    explain: ExplainService, selection: dict[str, Any] | None, example: dict[str, Any] | None
) -> dict[str, Any]:
    """The what-if controls for the form of the loaded model; none when it has no ranges
    (the panel says why)."""
    try:
        space = explain.what_if_space(current_caller(), *selected(selection))
    except ConsoleError:
        return {}
    return controls([r.to_dict() for r in space.ranges], example)


def form_text_columns(explain: ExplainService, selection: dict[str, Any] | None) -> frozenset:
    """The loaded model's free-text columns, which the form gives a box of several lines."""
    try:
        return explain.text_columns(current_caller(), *selected(selection))
    except ConsoleError:
        return frozenset()


class WhatIfCallbacks:
    def __init__(self, explain: ExplainService, scoring: ScoringService) -> None:
        self.explain, self.scoring = explain, scoring

    def panel(self, selection: dict[str, Any] | None) -> tuple[Any, ...]:
        """The features to sweep and what the ranges come from, for the loaded model."""
        if not selection:
            return [], None, None, ice_view(None)
        try:
            space = self.explain.what_if_space(current_caller(), *selected(selection))
        except ConsoleError as error:
            return [], None, space_note(error.message), ice_view(None)
        ranges = [r.to_dict() for r in space.ranges]
        options, first = feature_options(ranges)
        return options, first, space_note({"reference": space.reference}), ice_view(None)

    def sync(
        self,
        texts: list,
        slides: list,
        choices: list,
        text_ids: list[dict],
        slide_ids: list[dict],
        choice_ids: list[dict],
        selection: dict[str, Any] | None,
    ) -> tuple[list, list, list]:
        """A moved slider or a chosen category writes its field; a typed value moves the
        slider (clamped to its range) and picks the category when it is one."""
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict):
            raise PreventUpdate  # controls just built: nothing was changed by a person
        column = trigger.get("column")
        out_texts = [no_update] * len(text_ids)
        out_slides = [no_update] * len(slide_ids)
        out_choices = [no_update] * len(choice_ids)
        at = {i["column"]: n for n, i in enumerate(text_ids)}
        if trigger.get("type") == Insight.WHATIF_SLIDER and column in at:
            value = slides[[i["column"] for i in slide_ids].index(column)]
            whole = self._types(selection).get(column) in WHOLE
            out_texts[at[column]] = slider_text(value, whole) or no_update
        elif trigger.get("type") == Insight.WHATIF_CHOICE and column in at:
            chosen = choices[[i["column"] for i in choice_ids].index(column)]
            out_texts[at[column]] = chosen if chosen else no_update
        elif trigger.get("type") == Json.FORM_FIELD:
            text = texts[at[column]] if column in at else None
            for n, i in enumerate(slide_ids):
                if i["column"] == column:
                    out_slides[n] = _number(text) if _number(text) is not None else no_update
            for n, i in enumerate(choice_ids):
                if i["column"] == column:
                    out_choices[n] = str(text or "").strip()
        return out_texts, out_slides, out_choices

    def _types(self, selection: dict[str, Any] | None) -> dict[str, str]:
        try:
            signature = self._signature(selection)
        except ConsoleError:
            return {}
        return {c.name: c.type for c in signature.columns}

    def _signature(self, selection: dict[str, Any] | None) -> Any:
        name, version = selected(selection)
        return self.scoring.loader.load(current_caller(), name, version)[1].signature

    def _record(
        self,
        values: list,
        ids: list,
        switches: list,
        switch_ids: list,
        selection: dict[str, Any] | None,
    ) -> Any:
        raw = {i["column"]: v for i, v in zip(ids + switch_ids, values + switches, strict=True)}
        return read_form(self._signature(selection), raw)

    def what_if(
        self,
        values: list,
        switches: list,
        ids: list,
        switch_ids: list,
        feature: str | None,
        selection: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """A changed field predicts again: the answer, its explanation and the sweep."""
        if ctx.triggered_id is None:
            raise PreventUpdate  # the form was just built: nothing changed yet
        try:
            form = self._record(values, ids, switches, switch_ids, selection)
            if not form.ok:
                return form_status(len(form.problems)), no_update, no_update, no_update
            answer = self.explain.what_if(
                current_caller(), *selected(selection), form.record, feature
            )
        except ConsoleError as error:
            return show_error(error), no_update, no_update, None
        view = result_view(
            answer.predictions,
            None,
            (selection or {}).get("ref"),
            None,
            answer.explanation,
            answer.labels,
        )
        return view, ice_view(answer.curve), selection, None

    def sweep(
        self,
        _: int | None,
        feature: str | None,
        values: list,
        switches: list,
        ids: list,
        switch_ids: list,
        selection: dict[str, Any] | None,
    ) -> Any:
        """Another feature chosen (or Predict from form pressed): only the chart changes."""
        if not feature or not ids:
            return ice_view(None)
        try:
            form = self._record(values, ids, switches, switch_ids, selection)
            if not form.ok:
                return ice_view(FILL_THE_FORM)
            curve = self.explain.sweep(current_caller(), *selected(selection), form.record, feature)
        except ConsoleError as error:
            return ice_view(error.message)
        return ice_view(curve)


def _number(text: Any) -> float | None:
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        return None


def register(app: dash.Dash, services: ConsoleServices) -> WhatIfCallbacks:
    callbacks = WhatIfCallbacks(services.explain, services.scoring)
    app.callback(
        Output(Insight.WHATIF_FEATURE, "options"),
        Output(Insight.WHATIF_FEATURE, "value"),
        Output(Insight.WHATIF_NOTE, "children"),
        Output(Insight.WHATIF_ICE, "children"),
        Input(Page.SELECTION, "data"),
    )(callbacks.panel)
    app.callback(
        Output(form_field(ALL), "value"),
        Output(whatif_slider(ALL), "value"),
        Output(whatif_choice(ALL), "value"),
        Input(form_field(ALL), "value"),
        Input(whatif_slider(ALL), "value"),
        Input(whatif_choice(ALL), "value"),
        State(form_field(ALL), "id"),
        State(whatif_slider(ALL), "id"),
        State(whatif_choice(ALL), "id"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.sync)
    form = [
        State(form_field(ALL), "value"),
        State(form_switch(ALL), "value"),
        State(form_field(ALL), "id"),
        State(form_switch(ALL), "id"),
    ]
    app.callback(
        Output(Json.FORM_RESULT, "children", allow_duplicate=True),
        Output(Insight.WHATIF_ICE, "children", allow_duplicate=True),
        Output(Json.FORM_ANSWERED_BY, "data", allow_duplicate=True),
        Output(Json.FORM_STALE, "children", allow_duplicate=True),
        Input(form_field(ALL), "value"),
        Input(form_switch(ALL), "value"),
        State(form_field(ALL), "id"),
        State(form_switch(ALL), "id"),
        State(Insight.WHATIF_FEATURE, "value"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.what_if)
    app.callback(
        Output(Insight.WHATIF_ICE, "children", allow_duplicate=True),
        Input(Json.FORM_PREDICT, "n_clicks"),
        Input(Insight.WHATIF_FEATURE, "value"),
        *form,
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.sweep)
    return callbacks
