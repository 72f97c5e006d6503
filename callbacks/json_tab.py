"""JSON Prediction: live validation, demo input, predict from JSON or from the form; a one-row
answer's confidence and explanation follow it."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import dash
import pandas as pd
from dash import ALL, ClientsideFunction, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.features.whatif import form_controls, form_text_columns
from callbacks.form import form_state, raw_form
from layouts.answer import ANSWERS, FORM_ANSWER, JSON_ANSWER, Answer
from layouts.components import active_model_line, show_error
from layouts.features.explain import explanation_view, insight_parts, sureness
from layouts.ids import History, Json, Page, form_feedback, form_field
from layouts.json_tab import (
    form_fields,
    form_status,
    result_view,
    stale_notice,
    validation_empty,
    validation_ok,
    validation_problem,
)
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidJson
from services.history import failure_entry, prediction_entry
from services.registry.signature import SignatureInfo
from services.scoring.form import read_form
from services.scoring.payload import parse_json_text
from services.scoring.prediction import display_records
from services.scoring.prepared import PreparedInput, prepare
from services.scoring.service import Predictions
from services.wiring import ConsoleServices

TABLE_ROWS = 10_000


def problem_marker(error: ConsoleError) -> dict[str, Any]:
    """Where the editor marks the problem (line and column when the JSON does not parse)."""
    if isinstance(error, InvalidJson):
        return {"line": error.line, "column": error.column, "message": error.message}
    return {"line": None, "column": None, "message": error.message}


log = logging.getLogger(__name__)


class JsonCallbacks:
    def __init__(self, services: ConsoleServices, file_url: Callable[[str], str]) -> None:
        self.registry = services.registry
        self.scoring = services.scoring
        self.files = services.files
        self.explain = services.explain
        self.runs = services.runs
        self.file_url = file_url

    def active(self, selection: Any) -> Any:
        return active_model_line(Selection.from_store(selection), "Predicting with")

    def validate(self, text: str | None, selection: Any) -> tuple[Any, ...]:
        """The line under the editor, Predict enabled only for input known to be valid, and
        the problem for the editor's marker."""
        if not (text or "").strip():
            return validation_empty(), True, None
        try:
            model = Selection.required(selection)
            value = parse_json_text(text)
            check = self.scoring.check_input(current_caller(), model.name, model.version, value)
        except ConsoleError as error:
            return validation_problem(str(error)), True, problem_marker(error)
        return validation_ok(check), False, None

    def demo_input(self, clicks: int, selection: Any) -> tuple[Any, Any]:
        try:
            model = Selection.required(selection)
            payload = self.registry.demo_payload(current_caller(), model.name, model.version)
        except ConsoleError as error:
            return no_update, show_error(error)
        return json.dumps(payload, indent=2), no_update

    def prefill(self, selection: Any, text: str | None) -> Any:
        """A loaded model fills an empty editor with a valid example, as the form is."""
        model = Selection.from_store(selection)
        if (text or "").strip() or model is None:
            return no_update
        try:
            payload = self.registry.demo_payload(current_caller(), model.name, model.version)
        except ConsoleError:
            return no_update
        return json.dumps(payload, indent=2)

    def predict_json(self, clicks: int, text: str | None, selection: Any) -> tuple[Any, ...]:
        """The answer at once; for one row, its confidence and explanation follow
        (``explain_answer``), so the person does not wait for them to see it."""
        model = Selection.from_store(selection)
        try:
            model = Selection.required(selection)
            prepared = prepare(parse_json_text(text or ""))  # refused here in the usual words
            one_row = prepared.rows == 1
            answer = self._predict(model, prepared, Source.JSON, one_row)
            label_names = None if one_row else self._labels(model)  # for batch charts
        except ConsoleError as error:
            entry = failure_entry("JSON", _store(model), error, text=text)
            self.runs.remember(current_caller(), entry)
            return show_error(error), None, entry, selection, None
        table = prepared.table() if prepared.rows > 1 else None
        view = result_view(
            answer,
            display_records(table, TABLE_ROWS) if table is not None else None,
            model.ref,
            self._kept_batch(answer, table),
            None,
            label_names,
            JSON_ANSWER if one_row else None,
        )
        entry = prediction_entry(answer, "JSON", model.to_store(), text)
        self.runs.remember(current_caller(), entry)
        asked = _insight_asked(model, text or "", answer, clicks) if one_row else None
        return view, None, entry, selection, asked

    def _predict(
        self, model: Selection, prepared: PreparedInput, source: Source, one_row: bool
    ) -> Predictions:
        """One row's probabilities follow the answer; a batch's come with it (its charts)."""
        return self.scoring.predict(
            current_caller(),
            model.name,
            model.version,
            prepared,
            source=source,
            probabilities=False if one_row else None,
        )

    def _kept_batch(self, answer: Predictions, table: pd.DataFrame | None) -> str | None:
        """A batch's inputs and predictions as a CSV file to download."""
        if answer.input_rows <= 1 or table is None:
            return None
        kept = table.assign(prediction=answer.predictions)
        if answer.labels:
            kept["label"] = answer.labels
        try:
            stored = self.files.keep_table(
                current_caller(), kept, "json_batch_with_predictions.csv"
            )
        except (ConsoleError, OSError):
            log.warning("a JSON batch's download could not be kept", exc_info=True)
            return None  # no download (the files area is full or gone): the answer stands
        return self.file_url(stored.file_id)

    def build_form(self, selection: Any) -> Any:
        try:
            model = Selection.required(selection)
            detail = self.registry.version_detail(
                current_caller(), model.name, model.version, Source.UI
            )
        except ConsoleError as error:
            return show_error(error)
        example = detail.input_example[0] if detail.input_example else None
        return form_fields(
            detail.signature,
            example,
            form_controls(self.explain, model, example),
            form_text_columns(self.explain, model),
        )

    def _signature(self, model: Selection) -> SignatureInfo:
        """The loaded model's (from the model cache, permission checked as for predicting)."""
        return self.scoring.loader.load(current_caller(), model.name, model.version)[1].signature

    def check_form(self, values: list[Any], ids: list[dict[str, str]], selection: Any):
        """Each field read by the API's rules; the reason at the field; Predict only when
        every field reads."""
        raw = raw_form({"values": values, "ids": ids})
        try:
            signature = self._signature(Selection.required(selection))
        except ConsoleError:
            return [False] * len(ids), [None] * len(ids), True, None
        problems = read_form(signature, raw).problems
        invalid = [field_id["column"] in problems for field_id in ids]
        feedback = [problems.get(field_id["column"]) for field_id in ids]
        refuse = bool(problems) or not signature.columns
        return invalid, feedback, refuse, form_status(len(problems))

    def predict_form(self, clicks: int, form: dict[str, list], selection: Any) -> tuple[Any, ...]:
        raw = raw_form(form)
        model = Selection.from_store(selection)
        try:
            model = Selection.required(selection)
            read = read_form(self._signature(model), raw)
            if not read.ok:
                return form_status(len(read.problems)), None, no_update, no_update, no_update
            answer = self._predict(model, prepare(read.record), Source.FORM, one_row=True)
        except ConsoleError as error:
            entry = failure_entry("form", _store(model), error, text=json.dumps(raw, default=str))
            self.runs.remember(current_caller(), entry)
            return show_error(error), None, entry, selection, None
        text = json.dumps(read.record, default=str)
        entry = prediction_entry(answer, "form", model.to_store(), text)
        self.runs.remember(current_caller(), entry)
        view = result_view(answer, None, model.ref, slots=FORM_ANSWER)
        return view, None, entry, selection, _insight_asked(model, text, answer, clicks)

    def _labels(self, model: Selection) -> dict[str, str] | None:
        return self.scoring.loader.load(current_caller(), model.name, model.version)[1].labels

    def explain_answer(self, asked: dict[str, Any] | None, source: Source) -> tuple[Any, Any]:
        """The confidence and explanation of the one-row answer on screen, asked again as
        the server's caller (the page only says which row and version)."""
        if not asked:
            raise PreventUpdate
        try:
            model = Selection.required(asked["selection"])
            row = parse_json_text(asked["payload"])
            insight = self.explain.row_insight(
                current_caller(), model.name, model.version, row, source
            )
        except ConsoleError as error:
            return "", explanation_view(error.message)
        parts = insight_parts(
            insight.probabilities, [asked.get("prediction")], insight.explanation, insight.labels
        )
        return sureness(insight.probabilities), parts

    def mark_stale(self, selection: Any, answered: Any) -> Any:
        """An answer from another model than the loaded one is marked as such."""
        answered_by, loaded = Selection.from_store(answered), Selection.from_store(selection)
        if answered_by is None or loaded is None or answered_by.same_version(loaded):
            return None
        return stale_notice(answered_by.label, loaded.label)


def _store(model: Selection | None) -> dict[str, Any] | None:
    return model.to_store() if model is not None else None


def _insight_asked(model: Selection, text: str, answer: Predictions, clicks: int) -> dict[str, Any]:
    """What the follow-up needs to explain the answer: the version, the row as JSON text
    (a number in the page is a JavaScript double: a long past 2**53 would come back another
    number), and the click (the same row predicted twice is explained twice)."""
    prediction = answer.predictions[0] if answer.predictions else None
    return {
        "selection": model.to_store(),
        "payload": text,
        "prediction": prediction,
        "asked": clicks,
    }


SELECTION = Input(Page.SELECTION, "data")


def register(app: dash.Dash, services: ConsoleServices) -> JsonCallbacks:
    callbacks = JsonCallbacks(services, lambda f: app.get_relative_path(f"/api/files/{f}"))
    app.callback(output=Output(Json.ACTIVE, "children"), inputs={"selection": SELECTION})(
        callbacks.active
    )
    _wire_editor(app, callbacks)
    _wire_form(app, callbacks)
    _wire_answers(app, callbacks)
    return callbacks


def _wire_editor(app: dash.Dash, callbacks: JsonCallbacks) -> None:
    """The JSON editor: kept in step with its text, its problem marked, checked as typed,
    filled with demo rows or the model's example, and predicted."""
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
        output=[
            Output(Json.VALIDATION, "children"),
            Output(Json.PREDICT, "disabled"),
            Output(Json.PROBLEM, "data"),
        ],
        inputs={"text": Input(Json.TEXT, "value"), "selection": SELECTION},
    )(callbacks.validate)
    app.callback(
        output=[
            Output(Json.TEXT, "value"),
            Output(JSON_ANSWER.result, "children", allow_duplicate=True),
        ],
        inputs={"clicks": Input(Json.DEMO, "n_clicks")},
        state={"selection": State(Page.SELECTION, "data")},
        prevent_initial_call=True,
    )(callbacks.demo_input)
    app.callback(
        output=Output(Json.TEXT, "value", allow_duplicate=True),
        inputs={"selection": SELECTION},
        state={"text": State(Json.TEXT, "value")},
        prevent_initial_call="initial_duplicate",
    )(callbacks.prefill)
    answered = _answered_outputs(JSON_ANSWER)
    app.callback(
        output=answered,
        inputs={"clicks": Input(Json.PREDICT, "n_clicks")},
        state={"text": State(Json.TEXT, "value"), "selection": State(Page.SELECTION, "data")},
        prevent_initial_call=True,
    )(callbacks.predict_json)


def _wire_form(app: dash.Dash, callbacks: JsonCallbacks) -> None:
    """The form built from the signature: its fields, checked as typed, and predicted."""
    app.callback(output=Output(Json.FORM_FIELDS, "children"), inputs={"selection": SELECTION})(
        callbacks.build_form
    )
    app.callback(
        output=[
            Output(form_field(ALL), "invalid"),
            Output(form_feedback(ALL), "children"),
            Output(Json.FORM_PREDICT, "disabled"),
            Output(Json.FORM_STATUS, "children"),
        ],
        inputs={"values": Input(form_field(ALL), "value")},
        state={"ids": State(form_field(ALL), "id"), "selection": State(Page.SELECTION, "data")},
    )(callbacks.check_form)
    app.callback(
        output=_answered_outputs(FORM_ANSWER),
        inputs={"clicks": Input(Json.FORM_PREDICT, "n_clicks")},
        state={"form": form_state(), "selection": State(Page.SELECTION, "data")},
        prevent_initial_call=True,
    )(callbacks.predict_form)


def _wire_answers(app: dash.Dash, callbacks: JsonCallbacks) -> None:
    """Each answer (JSON and form): how sure the model was and why, and marked stale when
    another model is loaded."""
    for answer, source in zip(ANSWERS, (Source.JSON, Source.FORM), strict=True):
        app.callback(
            output=[Output(answer.confidence, "children"), Output(answer.insight, "children")],
            inputs={"asked": Input(answer.asked, "data")},
            prevent_initial_call=True,
        )(functools.partial(callbacks.explain_answer, source=source))
        app.callback(
            output=Output(answer.stale, "children", allow_duplicate=True),
            inputs={"selection": SELECTION},
            state={"answered": State(answer.answered_by, "data")},
            prevent_initial_call=True,
        )(callbacks.mark_stale)


def _answered_outputs(answer: Answer) -> list[Output]:
    """What a prediction writes: the answer, the stale notice cleared, a history entry, who
    answered, and what the follow-up is to explain."""
    return [
        Output(answer.result, "children", allow_duplicate=True),
        Output(answer.stale, "children"),
        Output(History.NEW, "data", allow_duplicate=True),
        Output(answer.answered_by, "data"),
        Output(answer.asked, "data"),
    ]
