"""JSON Prediction: live validation, demo input, predict from JSON or from the form."""

from __future__ import annotations

import json
from typing import Any

import dash
import pandas as pd
from dash import ALL, ClientsideFunction, Input, Output, State, no_update

from callbacks.common import selected, show_error
from layouts.ids import History, Json, Page, form_field
from layouts.json_tab import (
    form_fields,
    result_view,
    validation_empty,
    validation_ok,
    validation_problem,
)
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.history import prediction_entry, with_entry
from services.scoring.payload import parse_json_text, parse_payload
from services.scoring.prediction import display_records
from services.wiring import ConsoleServices

TABLE_ROWS = 100


def _input_records(data: Any) -> list[dict[str, Any]] | None:
    return display_records(data, TABLE_ROWS) if isinstance(data, pd.DataFrame) else None


class JsonCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.registry = services.registry
        self.scoring = services.scoring

    def validate(self, text: str | None, selection: dict[str, Any] | None) -> Any:
        if not (text or "").strip():
            return validation_empty()
        try:
            name, ref = selected(selection)
            check = self.scoring.check_input(current_caller(), name, ref, parse_json_text(text))
        except ConsoleError as error:
            return validation_problem(str(error))
        return validation_ok(check)

    def demo_input(self, _: int, selection: dict[str, Any] | None) -> tuple[Any, Any]:
        try:
            payload = self.registry.demo_payload(current_caller(), *selected(selection))
        except ConsoleError as error:
            return no_update, show_error(error)
        return json.dumps(payload, indent=2), no_update

    def predict_json(
        self, _: int, text: str | None, selection: dict[str, Any] | None, history: list | None
    ) -> tuple[Any, Any]:
        try:
            name, ref = selected(selection)
            model_input = parse_payload(parse_json_text(text or ""))
            result = self.scoring.predict(
                current_caller(), name, ref, model_input, source=Source.JSON
            )
        except ConsoleError as error:
            return show_error(error), no_update
        view = result_view(result, _input_records(model_input.data))
        return view, with_entry(history, prediction_entry(result, "JSON"))

    def build_form(self, selection: dict[str, Any] | None) -> Any:
        try:
            detail = self.registry.version_detail(current_caller(), *selected(selection), Source.UI)
        except ConsoleError as error:
            return show_error(error)
        example = detail.input_example[0] if detail.input_example else None
        return form_fields(detail.signature, example)

    def predict_form(
        self,
        _: int,
        values: list[Any],
        ids: list[dict[str, str]],
        selection: dict[str, Any] | None,
        history: list | None,
    ) -> tuple[Any, Any]:
        record = {field_id["column"]: value for field_id, value in zip(ids, values, strict=True)}
        try:
            name, ref = selected(selection)
            result = self.scoring.predict(current_caller(), name, ref, record, source=Source.FORM)
        except ConsoleError as error:
            return show_error(error), no_update
        return result_view(result, None), with_entry(history, prediction_entry(result, "form"))


def register(app: dash.Dash, services: ConsoleServices) -> JsonCallbacks:
    callbacks = JsonCallbacks(services)
    app.clientside_callback(
        ClientsideFunction("modelConsole", "syncEditor"),
        Output(Json.EDITOR_DUMMY, "children"),
        Input(Json.TEXT, "value"),
        State(Json.EDITOR, "id"),
        State(Json.TEXT, "id"),
    )
    app.callback(
        Output(Json.VALIDATION, "children"),
        Input(Json.TEXT, "value"),
        Input(Page.SELECTION, "data"),
    )(callbacks.validate)
    app.callback(
        Output(Json.TEXT, "value"),
        Output(Json.RESULT, "children", allow_duplicate=True),
        Input(Json.DEMO, "n_clicks"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.demo_input)
    app.callback(
        Output(Json.RESULT, "children", allow_duplicate=True),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Json.PREDICT, "n_clicks"),
        State(Json.TEXT, "value"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        prevent_initial_call=True,
    )(callbacks.predict_json)
    app.callback(Output(Json.FORM_FIELDS, "children"), Input(Page.SELECTION, "data"))(
        callbacks.build_form
    )
    app.callback(
        Output(Json.FORM_RESULT, "children"),
        Output(History.STORE, "data", allow_duplicate=True),
        Input(Json.FORM_PREDICT, "n_clicks"),
        State(form_field(ALL), "value"),
        State(form_field(ALL), "id"),
        State(Page.SELECTION, "data"),
        State(History.STORE, "data"),
        prevent_initial_call=True,
    )(callbacks.predict_form)
    return callbacks
