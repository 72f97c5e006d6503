"""Compare with: the loaded version and a second one on the JSON editor's rows, the form's
row or the uploaded file. Identity from the server, every time; each version is checked
and audited by the compare service."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, no_update

from callbacks.common import selected, show_error
from layouts.compare import comparison_view, options
from layouts.ids import Compare, Csv, Json, Page, form_field, form_switch
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput
from services.jobs.record import COMPARE, FROM_COMPARE
from services.scoring.form import read_form
from services.scoring.payload import parse_json_text, parse_payload
from services.scoring.prediction import display_records
from services.wiring import ConsoleServices

GRID_INPUT_ROWS = 1_000


def _with(ref: Any) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(
            "Choose a version or alias to compare with.",
            hint="The list offers the model's aliases and versions.",
        )
    return ref


def _name_loaded(loaded: Any, selection: dict[str, Any]) -> None:
    """The loaded version is compared by its number (the page's promise: an alias that moved
    since Load Model does not change it), and shown with the alias it was loaded by."""
    loaded.alias = loaded.alias or selection.get("alias")


class CompareCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.services = services

    def offer(self, selection: dict[str, Any] | None) -> tuple[Any, ...]:
        """The other versions and aliases of the loaded model, both pickers alike."""
        if not selection:
            return [], None, [], None
        try:
            name, version = selected(selection)
            detail = self.services.registry.model_detail(current_caller(), name, Source.UI)
        except ConsoleError:
            return [], None, [], None
        versions = [v.version for v in detail.versions]
        choices, default = options(detail.summary.aliases, versions, version)
        return choices, default, choices, default

    def _compare(
        self, selection: dict[str, Any] | None, other: Any, payload: Any, source: Source
    ) -> Any:
        name, version = selected(selection)
        model_input = parse_payload(payload)
        answer = self.services.compare.compare(
            current_caller(), name, [version, _with(other)], model_input, source=source
        )
        _name_loaded(answer.versions[0], selection)
        data = model_input.data
        inputs = display_records(data, GRID_INPUT_ROWS) if isinstance(data, pd.DataFrame) else None
        return comparison_view(answer, inputs)

    def compare_json(self, _: int, other: Any, text: Any, selection: Any) -> Any:
        try:
            return self._compare(selection, other, parse_json_text(text or ""), Source.JSON)
        except ConsoleError as error:
            return show_error(error)

    def compare_form(
        self,
        _: int,
        other: Any,
        values: list,
        ids: list,
        switches: list,
        switch_ids: list,
        selection: Any,
    ) -> Any:
        raw = {i["column"]: v for i, v in zip(ids + switch_ids, values + switches, strict=True)}
        try:
            name, version = selected(selection)
            signature = self.services.scoring.loader.load(current_caller(), name, version)[
                1
            ].signature
            form = read_form(signature, raw)
            if not form.ok:
                raise InvalidInput(
                    "Some form fields need attention before comparing.",
                    hint="Fix the fields marked in the form.",
                )
            return self._compare(selection, other, form.record, Source.FORM)
        except ConsoleError as error:
            return show_error(error)

    def compare_csv(self, _: int, other: Any, file_info: Any, selection: Any) -> tuple[Any, Any]:
        """The uploaded file through the loaded version and another: a job, with progress
        and Cancel in the comparison's job panel."""
        try:
            name, version = selected(selection)
            if not isinstance(file_info, dict) or not file_info.get("file_id"):
                raise InvalidInput("No file is uploaded yet.", hint="Upload a CSV file above.")
            request = {
                "kind": COMPARE,
                "source": f"upload:{file_info['file_id']}",
                "compare_with": [_with(other)],
            }
            job = self.services.jobs.submit(current_caller(), name, version, request, FROM_COMPARE)
        except ConsoleError as error:
            return show_error(error), no_update
        return None, job.job_id


def register(app: dash.Dash, services: ConsoleServices) -> CompareCallbacks:
    callbacks = CompareCallbacks(services)
    app.callback(
        Output(Compare.JSON_WITH, "options"),
        Output(Compare.JSON_WITH, "value"),
        Output(Compare.CSV_WITH, "options"),
        Output(Compare.CSV_WITH, "value"),
        Input(Page.SELECTION, "data"),
    )(callbacks.offer)
    app.callback(
        Output(Compare.JSON_RESULT, "children"),
        Input(Compare.JSON_RUN, "n_clicks"),
        State(Compare.JSON_WITH, "value"),
        State(Json.TEXT, "value"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.compare_json)
    app.callback(
        Output(Compare.JSON_RESULT, "children", allow_duplicate=True),
        Input(Compare.FORM_RUN, "n_clicks"),
        State(Compare.JSON_WITH, "value"),
        State(form_field(ALL), "value"),
        State(form_field(ALL), "id"),
        State(form_switch(ALL), "value"),
        State(form_switch(ALL), "id"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.compare_form)
    app.callback(
        Output(Compare.CSV_ERROR, "children"),
        Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        Input(Compare.CSV_RUN, "n_clicks"),
        State(Compare.CSV_WITH, "value"),
        State(Csv.FILE, "data"),
        State(Page.SELECTION, "data"),
        prevent_initial_call=True,
    )(callbacks.compare_csv)
    return callbacks
