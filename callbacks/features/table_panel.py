"""The "Score a table" panel: the fields become a job (on this server or on Spark), asked for
with the caller the server identifies. Its progress, Cancel and result are the job panel's
(``callbacks.features.jobs``)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, no_update

from layouts.components import show_error
from layouts.features import table_panel
from layouts.ids import Csv, Page, Table
from layouts.selection import Selection
from services.access.identity import current_caller
from services.errors import ConsoleError
from services.jobs.record import FROM_TABLE, SCORE
from services.wiring import ConsoleServices


class TableCallbacks:
    def __init__(self, services: ConsoleServices) -> None:
        self.jobs = services.jobs

    def start(
        self,
        clicks: int | None,
        run_on: str | None,
        source: str | None,
        destination: str | None,
        result_format: str | None,
        uploaded: dict[str, Any] | None,
        selection: Any,
    ) -> tuple[Any, Any]:
        """Empty source: the file uploaded above."""
        try:
            model = Selection.required(selection)
            if not (source or "").strip() and uploaded:
                source = f"upload:{uploaded['file_id']}"
            request = {
                "kind": SCORE,
                "source": source,
                "destination": destination,
                "format": result_format,
                "engine": run_on or table_panel.THIS_SERVER,
            }
            job = self.jobs.submit(current_caller(), model.name, model.version, request, FROM_TABLE)
        except ConsoleError as error:
            return show_error(error), no_update
        return None, job.job_id


def register(app: dash.Dash, services: ConsoleServices) -> TableCallbacks:
    callbacks = TableCallbacks(services)
    app.callback(
        output=[
            Output(Table.START_ERROR, "children"),
            Output(Page.OPEN_JOB, "data", allow_duplicate=True),
        ],
        inputs={"clicks": Input(Table.START, "n_clicks")},
        state={
            "run_on": State(Table.RUN_ON, "value"),
            "source": State(Table.SOURCE, "value"),
            "destination": State(Table.DESTINATION, "value"),
            "result_format": State(Table.FORMAT, "value"),
            "uploaded": State(Csv.FILE, "data"),
            "selection": State(Page.SELECTION, "data"),
        },
        prevent_initial_call=True,
    )(callbacks.start)
    return callbacks
