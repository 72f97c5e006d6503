"""Evaluate against a label column: the uploaded file's columns offered (the suggested
label first), the model's versions, then an evaluate job in the section's job panel.
Identity from the server, every time; the job's record is the result (drawn by the job
poll), downloadable as JSON."""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, State, dcc, no_update

from layouts.components import show_error
from layouts.features.evaluation import CSV_SECTION, SECTIONS, EvaluationSection
from layouts.features.jobs import job_of
from layouts.ids import Csv, Page
from layouts.selection import Selection
from services.access.audit import Source
from services.access.identity import current_caller
from services.compare.service import DEFAULT_REFS
from services.errors import ConsoleError, InvalidInput
from services.jobs.record import EVALUATE
from services.wiring import ConsoleServices

NOTHING = ([], None, [], [], [], None)


class EvaluationCallbacks:
    def __init__(self, services: ConsoleServices, origin: str) -> None:
        self.services = services
        self.origin = origin  # the section's: its jobs show in its panel

    def offer(self, selection: Any, file_info: Any) -> tuple[Any, ...]:
        """Label and slice columns from the file, the suggested label chosen; the model's
        aliases and versions, Champion and Challenger chosen when it has both."""
        model = Selection.from_store(selection)
        if model is None:
            return NOTHING
        caller = current_caller()
        try:
            detail = self.services.registry.model_detail(caller, model.name, Source.UI)
            columns = self._columns(file_info)
            suggested = (
                self.services.evaluation.suggest_label(caller, model.name, model.version, columns)
                if columns
                else None
            )
        except ConsoleError:
            return NOTHING
        aliases = sorted(detail.summary.aliases)
        refs = aliases + [v.version for v in detail.versions]
        both = all(alias in aliases for alias in DEFAULT_REFS)
        chosen = list(DEFAULT_REFS) if both else [model.version]
        options = [{"label": c, "value": c} for c in columns]
        return options, suggested, refs, chosen, options, None

    def _columns(self, file_info: Any) -> list[str]:
        if not isinstance(file_info, dict) or not file_info.get("file_id"):
            return []
        return self.services.evaluation.file_columns(current_caller(), file_info["file_id"])

    def start(
        self, clicks: int, label: Any, refs: Any, chosen_slice: Any, file_info: Any, selection: Any
    ) -> tuple[Any, Any]:
        try:
            model = Selection.required(selection)
            if not isinstance(file_info, dict) or not file_info.get("file_id"):
                where = "above" if self.origin == CSV_SECTION.name else "in the CSV tab"
                raise InvalidInput("No file is uploaded yet.", hint=f"Upload a CSV file {where}.")
            if not isinstance(label, str) or not label:
                raise InvalidInput("Choose the label column.", hint="The column of true values.")
            refs = [r for r in (refs or []) if isinstance(r, str)] or [model.version]
            request = {
                "kind": EVALUATE,
                "source": f"upload:{file_info['file_id']}",
                "label": label,
                "compare_with": refs[1:],
                "slice": chosen_slice if isinstance(chosen_slice, str) else None,
            }
            job = self.services.jobs.submit(
                current_caller(), model.name, refs[0], request, self.origin
            )
        except ConsoleError as error:
            return show_error(error), no_update
        return None, job.job_id

    def download(self, clicks: int, shown: Any) -> Any:
        """The evaluation the panel shows, as the API answers it."""
        job_id = job_of(shown)
        if not clicks or not job_id:
            return no_update
        try:
            job = self.services.jobs.get(current_caller(), job_id)
        except ConsoleError:
            return no_update
        body = (job.detail or {}).get("evaluation")
        if not body:
            return no_update
        name = (job.source_name or "evaluation").rsplit(".", 1)[0] + "_evaluation.json"
        return dcc.send_string(json.dumps(body, indent=2), name)


def _register_section(app: dash.Dash, services: ConsoleServices, where: EvaluationSection) -> None:
    callbacks = EvaluationCallbacks(services, where.name)
    app.callback(
        output=[
            Output(where.label, "options"),
            Output(where.label, "value"),
            Output(where.refs, "options"),
            Output(where.refs, "value"),
            Output(where.slice, "options"),
            Output(where.slice, "value"),
        ],
        inputs={
            "selection": Input(Page.SELECTION, "data"),
            "file_info": Input(Csv.FILE, "data"),
        },
    )(callbacks.offer)
    app.callback(
        output=[
            Output(where.error, "children"),
            Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        ],
        inputs={"clicks": Input(where.run, "n_clicks")},
        state={
            "label": State(where.label, "value"),
            "refs": State(where.refs, "value"),
            "chosen_slice": State(where.slice, "value"),
            "file_info": State(Csv.FILE, "data"),
            "selection": State(Page.SELECTION, "data"),
        },
        prevent_initial_call=True,
    )(callbacks.start)
    app.callback(
        output=Output(where.download, "data"),
        inputs={"clicks": Input(where.save, "n_clicks")},
        state={"shown": State(where.panel.shown, "data")},
        prevent_initial_call=True,
    )(callbacks.download)


def register(app: dash.Dash, services: ConsoleServices) -> None:
    for where in SECTIONS:
        _register_section(app, services, where)
