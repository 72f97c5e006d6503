"""JSON Prediction: live validation, demo input, predict from JSON or from the form."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dash
import pandas as pd
from dash import ALL, ClientsideFunction, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import selected, show_error
from callbacks.whatif import form_controls, form_text_columns
from layouts.components import active_model_line
from layouts.explain import explanation_view, insight_parts, sureness
from layouts.ids import History, Json, Page, form_feedback, form_field, form_switch
from layouts.json_tab import (
    FORM_SLOTS,
    JSON_SLOTS,
    SMALL_BATCH,
    form_fields,
    form_status,
    result_view,
    stale_notice,
    validation_empty,
    validation_ok,
    validation_problem,
)
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidJson
from services.history import failure_entry, prediction_entry
from services.registry.signature import SignatureInfo
from services.scoring.form import read_form
from services.scoring.payload import parse_json_text, parse_payload
from services.scoring.prediction import display_records
from services.scoring.service import Predictions
from services.wiring import ConsoleServices

TABLE_ROWS = 10_000


def _input_records(data: Any) -> list[dict[str, Any]] | None:
    return display_records(data, TABLE_ROWS) if isinstance(data, pd.DataFrame) else None


def problem_marker(error: ConsoleError) -> dict[str, Any]:
    """Where the editor marks the problem (line and column when the JSON does not parse)."""
    if isinstance(error, InvalidJson):
        return {"line": error.line, "column": error.column, "message": error.message}
    return {"line": None, "column": None, "message": error.message}


class JsonCallbacks:
    def __init__(self, services: ConsoleServices, file_url: Callable[[str], str]) -> None:
        self.registry = services.registry
        self.scoring = services.scoring
        self.files = services.files
        self.explain = services.explain
        self.file_url = file_url

    def active(self, selection: dict[str, Any] | None) -> Any:
        return active_model_line(selection, "Predicting with")

    def validate(self, text: str | None, selection: dict[str, Any] | None) -> tuple[Any, ...]:
        """The line under the editor, Predict enabled only for input known to be valid, and
        the problem for the editor's marker."""
        if not (text or "").strip():
            return validation_empty(), True, None
        try:
            name, version = selected(selection)
            check = self.scoring.check_input(current_caller(), name, version, parse_json_text(text))
        except ConsoleError as error:
            return validation_problem(str(error)), True, problem_marker(error)
        return validation_ok(check), False, None

    def demo_input(self, _: int, selection: dict[str, Any] | None) -> tuple[Any, Any]:
        try:
            payload = self.registry.demo_payload(current_caller(), *selected(selection))
        except ConsoleError as error:
            return no_update, show_error(error)
        return json.dumps(payload, indent=2), no_update

    def prefill(self, selection: dict[str, Any] | None, text: str | None) -> Any:
        """A loaded model fills an empty editor with a valid example, as the form is."""
        if (text or "").strip() or not selection:
            return no_update
        try:
            payload = self.registry.demo_payload(current_caller(), *selected(selection))
        except ConsoleError:
            return no_update
        return json.dumps(payload, indent=2)

    def predict_json(
        self, clicks: int, text: str | None, selection: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        """The answer at once; for one row, its confidence and explanation follow
        (``explain_answer``), so the person does not wait for them to see it."""
        try:
            name, version = selected(selection)
            value = parse_json_text(text or "")
            model_input = parse_payload(value)  # refused here with the usual words
            one_row = model_input.rows == 1
            # the parsed value, not model_input: clean records take the fast path
            answer = self.scoring.predict(
                current_caller(),
                name,
                version,
                value,
                source=Source.JSON,
                probabilities=False if one_row else None,
            )
            label_names = None if one_row else self._labels(name, version)  # for batch charts
        except ConsoleError as error:
            entry = failure_entry("JSON", selection, error, text=text)
            return show_error(error), None, entry, selection, None
        download = self._kept_batch(answer, model_input.data)
        view = result_view(
            answer,
            _input_records(model_input.data),
            _ref(selection),
            download,
            None,
            label_names,
            JSON_SLOTS if one_row else None,
        )
        entry = prediction_entry(answer, "JSON", selection, text)
        asked = _insight_asked(selection, text or "", answer, clicks) if one_row else None
        return view, None, entry, selection, asked

    def _kept_batch(self, answer: Predictions, data: Any) -> str | None:
        """A big batch's inputs and predictions as a CSV file to download."""
        if answer.input_rows <= SMALL_BATCH or not isinstance(data, pd.DataFrame):
            return None
        table = data.assign(prediction=answer.predictions)
        if answer.labels:
            table["label"] = answer.labels
        kept = self.files.keep_table(current_caller(), table, "json_batch_with_predictions.csv")
        return self.file_url(kept.file_id)

    def build_form(self, selection: dict[str, Any] | None) -> Any:
        try:
            detail = self.registry.version_detail(current_caller(), *selected(selection), Source.UI)
        except ConsoleError as error:
            return show_error(error)
        example = detail.input_example[0] if detail.input_example else None
        return form_fields(
            detail.signature,
            example,
            form_controls(self.explain, selection, example),
            form_text_columns(self.explain, selection),
        )

    def _signature(self, selection: dict[str, Any] | None) -> SignatureInfo:
        """The loaded model's (from the model cache, permission checked as for predicting)."""
        name, version = selected(selection)
        return self.scoring.loader.load(current_caller(), name, version)[1].signature

    def check_form(
        self, values: list[Any], ids: list[dict[str, str]], selection: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        """Each field read by the API's rules; the reason at the field; Predict only when
        every field reads."""
        raw = {field_id["column"]: value for field_id, value in zip(ids, values, strict=True)}
        try:
            signature = self._signature(selection)
        except ConsoleError:
            return [False] * len(ids), [None] * len(ids), True, None
        problems = read_form(signature, raw).problems
        invalid = [field_id["column"] in problems for field_id in ids]
        feedback = [problems.get(field_id["column"]) for field_id in ids]
        refuse = bool(problems) or not signature.columns
        return invalid, feedback, refuse, form_status(len(problems))

    def predict_form(
        self,
        clicks: int,
        values: list[Any],
        ids: list[dict[str, str]],
        switches: list[Any],
        switch_ids: list[dict[str, str]],
        selection: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        raw = {i["column"]: v for i, v in zip(ids + switch_ids, values + switches, strict=True)}
        try:
            name, version = selected(selection)
            form = read_form(self._signature(selection), raw)
            if not form.ok:
                return form_status(len(form.problems)), None, no_update, no_update, no_update
            answer = self.scoring.predict(
                current_caller(),
                name,
                version,
                form.record,
                source=Source.FORM,
                probabilities=False,
            )
        except ConsoleError as error:
            entry = failure_entry("form", selection, error, text=json.dumps(raw, default=str))
            return show_error(error), None, entry, selection, None
        text = json.dumps(form.record, default=str)
        entry = prediction_entry(answer, "form", selection, text)
        view = result_view(answer, None, _ref(selection), slots=FORM_SLOTS)
        asked = _insight_asked(selection, text, answer, clicks)
        return view, None, entry, selection, asked

    def _labels(self, name: str, version: str) -> dict[str, str] | None:
        return self.scoring.loader.load(current_caller(), name, version)[1].labels

    def explain_answer(self, asked: dict[str, Any] | None, source: Source) -> tuple[Any, Any]:
        """The confidence and explanation of the one-row answer on screen, asked again as
        the server's caller (the page only says which row and version)."""
        if not asked:
            raise PreventUpdate
        try:
            row = parse_json_text(asked["payload"])
            insight = self.explain.row_insight(
                current_caller(), *selected(asked["selection"]), row, source
            )
        except ConsoleError as error:
            return "", explanation_view(error.message)
        parts = insight_parts(
            insight.probabilities, [asked.get("prediction")], insight.explanation, insight.labels
        )
        return sureness(insight.probabilities), parts

    def mark_stale(self, selection: dict | None, answered: dict | None) -> Any:
        """An answer from another model than the loaded one is marked as such."""
        if not answered or not selection or _same_model(answered, selection):
            return None
        return stale_notice(_label(answered), _label(selection))


def _insight_asked(
    selection: dict[str, Any] | None, text: str, answer: Predictions, clicks: int
) -> dict[str, Any]:
    """What the follow-up needs to explain the answer: the version, the row as JSON text
    (a number in the page is a JavaScript double: a long past 2**53 would come back another
    number), and the click (the same row predicted twice is explained twice)."""
    prediction = answer.predictions[0] if answer.predictions else None
    return {"selection": selection, "payload": text, "prediction": prediction, "asked": clicks}


def _ref(selection: dict[str, Any] | None) -> str | None:
    return (selection or {}).get("ref")


def _same_model(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return _version_key(one) == _version_key(other)


def _version_key(selection: dict[str, Any]) -> tuple[Any, str]:
    return selection.get("name"), str(selection.get("version"))


def _label(selection: dict[str, Any]) -> str:
    alias = f" @{selection['alias']}" if selection.get("alias") else ""
    return f"{selection['name']} v{selection['version']}{alias}"


def register(app: dash.Dash, services: ConsoleServices) -> JsonCallbacks:
    callbacks = JsonCallbacks(services, lambda f: app.get_relative_path(f"/api/files/{f}"))
    app.callback(Output(Json.ACTIVE, "children"), Input(Page.SELECTION, "data"))(callbacks.active)
    app.clientside_callback(
        ClientsideFunction("modelConsole", "syncEditor"),
        Output(Json.EDITOR_DUMMY, "children"),
        Input(Json.TEXT, "value"),
        State(Json.EDITOR, "id"),
        State(Json.TEXT, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("modelConsole", "markProblem"),
        Output(Json.EDITOR_DUMMY, "title"),
        Input(Json.PROBLEM, "data"),
        State(Json.EDITOR, "id"),
    )
    app.callback(
        Output(Json.VALIDATION, "children"),
        Output(Json.PREDICT, "disabled"),
        Output(Json.PROBLEM, "data"),
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
        Output(Json.TEXT, "value", allow_duplicate=True),
        Input(Page.SELECTION, "data"),
        State(Json.TEXT, "value"),
        prevent_initial_call="initial_duplicate",
    )(callbacks.prefill)
    app.callback(
        Output(Json.RESULT, "children", allow_duplicate=True),
        Output(Json.STALE, "children"),
        Output(History.NEW, "data", allow_duplicate=True),
        Output(Json.ANSWERED_BY, "data"),
        Output(Json.INSIGHT_ASKED, "data"),
        Input(Json.PREDICT, "n_clicks"),
        State(Json.TEXT, "value"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.predict_json)
    app.callback(Output(Json.FORM_FIELDS, "children"), Input(Page.SELECTION, "data"))(
        callbacks.build_form
    )
    app.callback(
        Output(form_field(ALL), "invalid"),
        Output(form_feedback(ALL), "children"),
        Output(Json.FORM_PREDICT, "disabled"),
        Output(Json.FORM_STATUS, "children"),
        Input(form_field(ALL), "value"),
        State(form_field(ALL), "id"),
        State(Page.SELECTION, "data"),
    )(callbacks.check_form)
    app.callback(
        Output(Json.FORM_RESULT, "children"),
        Output(Json.FORM_STALE, "children"),
        Output(History.NEW, "data", allow_duplicate=True),
        Output(Json.FORM_ANSWERED_BY, "data"),
        Output(Json.FORM_INSIGHT_ASKED, "data"),
        Input(Json.FORM_PREDICT, "n_clicks"),
        State(form_field(ALL), "value"),
        State(form_field(ALL), "id"),
        State(form_switch(ALL), "value"),
        State(form_switch(ALL), "id"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.predict_form)
    for asked, slots, source in (
        (Json.INSIGHT_ASKED, JSON_SLOTS, Source.JSON),
        (Json.FORM_INSIGHT_ASKED, FORM_SLOTS, Source.FORM),
    ):
        app.callback(
            Output(slots.confidence, "children"),
            Output(slots.insight, "children"),
            Input(asked, "data"),
            prevent_initial_call=True,
        )(lambda value, source=source: callbacks.explain_answer(value, source))
    for notice, store in ((Json.STALE, Json.ANSWERED_BY), (Json.FORM_STALE, Json.FORM_ANSWERED_BY)):
        app.callback(
            Output(notice, "children", allow_duplicate=True),
            Input(Page.SELECTION, "data"),
            State(store, "data"),
            prevent_initial_call=True,
        )(callbacks.mark_stale)
    return callbacks
