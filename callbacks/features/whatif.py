"""What-if on the form: sliders and category lists kept in step with the text fields, and
every change predicting again at once (prediction, confidence, waterfall and the ICE chart).

What-if answers are audited like any prediction, but not kept in Prediction History: a
slider dragged across its range would push every earlier entry out."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.form import form_state, raw_form
from layouts.answer import FORM_ANSWER
from layouts.components import show_error
from layouts.features.whatif import (
    FILL_THE_FORM,
    answer_waits,
    controls,
    feature_options,
    ice_view,
    slider_text,
    space_note,
)
from layouts.ids import Insight, Json, Page, form_field, form_switch, whatif_choice, whatif_slider
from layouts.json_tab import result_view
from layouts.selection import Selection
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.explain.service import ExplainService
from services.scoring.form import WHOLE, read_form
from services.scoring.service import ScoringService
from services.wiring import ConsoleServices


def form_controls(
    explain: ExplainService, model: Selection, example: dict[str, Any] | None
) -> dict[str, Any]:
    """The what-if controls for the form of the loaded model; none when it has no ranges
    (the panel says why)."""
    try:
        space = explain.what_if_space(current_caller(), model.name, model.version)
    except ConsoleError:
        return {}
    return controls([r.to_dict() for r in space.ranges], example)


def form_text_columns(explain: ExplainService, model: Selection) -> frozenset:
    """The loaded model's free-text columns, which the form gives a box of several lines."""
    try:
        return explain.text_columns(current_caller(), model.name, model.version)
    except ConsoleError:
        return frozenset()


class WhatIfCallbacks:
    def __init__(self, explain: ExplainService, scoring: ScoringService) -> None:
        self.explain, self.scoring = explain, scoring

    def panel(self, selection: Any) -> tuple[Any, ...]:
        """The features to sweep and what the ranges come from, for the loaded model."""
        model = Selection.from_store(selection)
        if model is None:
            return [], None, None, ice_view(None)
        try:
            space = self.explain.what_if_space(current_caller(), model.name, model.version)
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
        selection: Any,
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

    def _types(self, selection: Any) -> dict[str, str]:
        try:
            signature = self._signature(Selection.required(selection))
        except ConsoleError:
            return {}
        return {c.name: c.type for c in signature.columns}

    def _signature(self, model: Selection) -> Any:
        return self.scoring.loader.load(current_caller(), model.name, model.version)[1].signature

    def what_if(self, feature: str | None, selection: Any, **form: list) -> tuple:
        """Any field changed (``form``: values, switches and their ids): predicted again,
        the answer, its explanation and the sweep."""
        if ctx.triggered_id is None:
            raise PreventUpdate  # the form was just built: nothing changed yet
        try:
            model = Selection.required(selection)
            read = read_form(self._signature(model), raw_form(form))
            if not read.ok:
                return answer_waits(), no_update, no_update, no_update
            answer = self.explain.what_if(
                current_caller(), model.name, model.version, read.record, feature
            )
        except ConsoleError as error:
            return show_error(error), no_update, no_update, None
        view = result_view(
            answer.predictions, None, model.ref, None, answer.explanation, answer.labels
        )
        return view, ice_view(answer.curve), selection, None

    def sweep(
        self, clicks: int | None, feature: str | None, form: dict[str, list], selection: Any
    ) -> Any:
        """Another feature chosen (or Predict from form pressed): only the chart changes."""
        if not feature or not (form or {}).get("ids"):
            return ice_view(None)
        try:
            model = Selection.required(selection)
            read = read_form(self._signature(model), raw_form(form))
            if not read.ok:
                return ice_view(FILL_THE_FORM)
            curve = self.explain.sweep(
                current_caller(), model.name, model.version, read.record, feature
            )
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
        output=[
            Output(Insight.WHATIF_FEATURE, "options"),
            Output(Insight.WHATIF_FEATURE, "value"),
            Output(Insight.WHATIF_NOTE, "children"),
            Output(Insight.WHATIF_ICE, "children"),
        ],
        inputs={"selection": Input(Page.SELECTION, "data")},
    )(callbacks.panel)
    app.callback(
        output=[
            Output(form_field(ALL), "value"),
            Output(whatif_slider(ALL), "value"),
            Output(whatif_choice(ALL), "value"),
        ],
        inputs={
            "texts": Input(form_field(ALL), "value"),
            "slides": Input(whatif_slider(ALL), "value"),
            "choices": Input(whatif_choice(ALL), "value"),
        },
        state={
            "text_ids": State(form_field(ALL), "id"),
            "slide_ids": State(whatif_slider(ALL), "id"),
            "choice_ids": State(whatif_choice(ALL), "id"),
            "selection": State(Page.SELECTION, "data"),
        },
        prevent_initial_call=True,
    )(callbacks.sync)
    app.callback(
        output=[
            Output(FORM_ANSWER.result, "children", allow_duplicate=True),
            Output(Insight.WHATIF_ICE, "children", allow_duplicate=True),
            Output(FORM_ANSWER.answered_by, "data", allow_duplicate=True),
            Output(FORM_ANSWER.stale, "children", allow_duplicate=True),
        ],
        inputs={
            "values": Input(form_field(ALL), "value"),
            "switches": Input(form_switch(ALL), "value"),
        },
        state={
            "ids": State(form_field(ALL), "id"),
            "switch_ids": State(form_switch(ALL), "id"),
            "feature": State(Insight.WHATIF_FEATURE, "value"),
            "selection": State(Page.SELECTION, "data"),
        },
        prevent_initial_call=True,
    )(callbacks.what_if)
    app.callback(
        output=Output(Insight.WHATIF_ICE, "children", allow_duplicate=True),
        inputs={
            "clicks": Input(Json.FORM_PREDICT, "n_clicks"),
            "feature": Input(Insight.WHATIF_FEATURE, "value"),
        },
        state={"form": form_state(), "selection": State(Page.SELECTION, "data")},
        prevent_initial_call=True,
    )(callbacks.sweep)
    return callbacks
