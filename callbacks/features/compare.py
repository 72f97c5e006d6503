"""Compare with: the loaded version and a second one on the JSON editor's rows, the form's
row or the uploaded file. Identity from the server, every time; each version is checked
and audited by the compare service."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, html, no_update

from callbacks.features.snippets import SnippetWriter
from callbacks.form import form_state, raw_form
from layouts.components import show_error
from layouts.features.compare import comparison_view, options
from layouts.ids import Compare, Csv, Json, Page
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.errors import ConsoleError, InvalidInput
from services.jobs.record import COMPARE, FROM_COMPARE
from services.scoring.form import read_form
from services.scoring.payload import parse_json_text
from services.scoring.prediction import display_records
from services.scoring.prepared import prepare
from services.wiring import ConsoleServices

GRID_INPUT_ROWS = 1_000


def _with(ref: Any) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(
            "Choose a version or alias to compare with.",
            hint="The list offers the model's aliases and versions.",
        )
    return ref


class CompareCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.services = services
        self.snippets = SnippetWriter(services.settings)

    def offer(self, selection: Any) -> tuple[Any, ...]:
        """The other versions and aliases of the loaded model, both pickers alike."""
        model = Selection.from_store(selection)
        if model is None:
            return [], None, [], None
        try:
            detail = self.services.registry.model_detail(current_caller(), model.name, Source.UI)
        except ConsoleError:
            return [], None, [], None
        versions = [v.version for v in detail.versions]
        choices, default = options(detail.summary.aliases, versions, model.version)
        return choices, default, choices, default

    def _compare(
        self, model: Selection, other: Any, payload: Any, source: Source, href: Any
    ) -> Any:
        """The loaded version is compared by its number (the page's promise: an alias that
        moved since Load Model does not change it), and shown with the alias it was loaded
        by; "Use via API" under it."""
        prepared = prepare(payload)
        answer = self.services.compare.compare(
            current_caller(),
            model.name,
            [model.version, _with(other)],
            prepared.model_input(),
            source=source,
        )
        answer.versions[0].alias = answer.versions[0].alias or model.alias
        table = prepared.table()
        inputs = display_records(table, GRID_INPUT_ROWS) if table is not None else None
        shown_as = "JSON" if source == Source.JSON else "form"
        return html.Div(
            [
                comparison_view(answer, inputs),
                self.snippets.compared_rows(href, model, other, payload, shown_as),
            ]
        )

    def compare_json(
        self, clicks: int, other: Any, text: Any, selection: Any, href: Any = None
    ) -> Any:
        try:
            model = Selection.required(selection)
            return self._compare(model, other, parse_json_text(text or ""), Source.JSON, href)
        except ConsoleError as error:
            return show_error(error)

    def compare_form(
        self, clicks: int, other: Any, form: dict[str, list], selection: Any, href: Any = None
    ) -> Any:
        try:
            model = Selection.required(selection)
            loaded = self.services.scoring.loader.load(current_caller(), model.name, model.version)
            read = read_form(loaded[1].signature, raw_form(form))
            if not read.ok:
                raise InvalidInput(
                    "Some form fields need attention before comparing.",
                    hint="Fix the fields marked in the form.",
                )
            return self._compare(model, other, read.record, Source.FORM, href)
        except ConsoleError as error:
            return show_error(error)

    def compare_csv(self, clicks: int, other: Any, file_info: Any, selection: Any) -> tuple:
        """The uploaded file through the loaded version and another: a job, with progress
        and Cancel in the comparison's job panel."""
        try:
            model = Selection.required(selection)
            if not isinstance(file_info, dict) or not file_info.get("file_id"):
                raise InvalidInput("No file is uploaded yet.", hint="Upload a CSV file above.")
            request = {
                "kind": COMPARE,
                "source": f"upload:{file_info['file_id']}",
                "compare_with": [_with(other)],
            }
            job = self.services.jobs.submit(
                current_caller(), model.name, model.version, request, FROM_COMPARE
            )
        except ConsoleError as error:
            return show_error(error), no_update
        return None, job.job_id


def register(app: dash.Dash, services: ConsoleServices) -> CompareCallbacks:
    callbacks = CompareCallbacks(services)
    app.callback(
        output=[
            Output(Compare.JSON_WITH, "options"),
            Output(Compare.JSON_WITH, "value"),
            Output(Compare.CSV_WITH, "options"),
            Output(Compare.CSV_WITH, "value"),
        ],
        inputs={"selection": Input(Page.SELECTION, "data")},
    )(callbacks.offer)
    # Compare asks what Predict asks of the same input: each is offered when its Predict is
    for compare, predict in (
        (Compare.JSON_RUN, Json.PREDICT),
        (Compare.FORM_RUN, Json.FORM_PREDICT),
    ):
        app.clientside_callback(
            ClientsideFunction("modelConsole", "same"),
            Output(compare, "disabled"),
            Input(predict, "disabled"),
        )
    app.callback(
        output=Output(Compare.JSON_RESULT, "children"),
        inputs={"clicks": Input(Compare.JSON_RUN, "n_clicks")},
        state={
            "other": State(Compare.JSON_WITH, "value"),
            "text": State(Json.TEXT, "value"),
            "selection": State(Page.SELECTION, "data"),
            "href": State(Page.URL, "href"),
        },
        prevent_initial_call=True,
    )(callbacks.compare_json)
    app.callback(
        output=Output(Compare.JSON_RESULT, "children", allow_duplicate=True),
        inputs={"clicks": Input(Compare.FORM_RUN, "n_clicks")},
        state={
            "other": State(Compare.JSON_WITH, "value"),
            "form": form_state(),
            "selection": State(Page.SELECTION, "data"),
            "href": State(Page.URL, "href"),
        },
        prevent_initial_call=True,
    )(callbacks.compare_form)
    app.callback(
        output=[
            Output(Compare.CSV_ERROR, "children"),
            Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        ],
        inputs={"clicks": Input(Compare.CSV_RUN, "n_clicks")},
        state={
            "other": State(Compare.CSV_WITH, "value"),
            "file_info": State(Csv.FILE, "data"),
            "selection": State(Page.SELECTION, "data"),
        },
        prevent_initial_call=True,
    )(callbacks.compare_csv)
    return callbacks
