""" "Use via API" filled after each JSON and form prediction (from the history entry the
prediction wrote) and for the CSV tab's file; the text itself is ``services/snippets.py``."""

from __future__ import annotations

import functools
import json
from typing import Any

import dash
from dash import Input, Output, State, no_update

from layouts.features.snippets import (
    CSV_SNIPPETS,
    FORM_SNIPPETS,
    JSON_SNIPPETS,
    SnippetPanel,
    nothing,
    too_large,
)
from layouts.ids import Csv, History, Page
from layouts.selection import Selection
from services.history import OK
from services.settings import Settings
from services.snippets import SnippetRequest, console_url, snippets
from services.wiring import ConsoleServices


class SnippetCallbacks:
    def __init__(self, settings: Settings) -> None:
        self.auth_mode = settings.auth_mode
        self.registries = {
            "registry_uri": settings.registry_uri,
            "tracking_uri": settings.tracking_uri,
        }

    def for_prediction(
        self, entry: dict[str, Any] | None, href: str | None, panel: SnippetPanel, source: str
    ) -> Any:
        """The panel under the answer the entry is about (the other one stays)."""
        if not entry or entry.get("source") != source:
            return no_update
        base = console_url(href)
        if entry.get("outcome") != OK or base is None or not entry.get("model"):
            return nothing()
        if entry.get("input") is None:
            return too_large()
        try:
            payload = json.loads(entry["input"])
        except ValueError:
            return nothing()
        ref = entry.get("ref") or entry.get("version") or ""
        request = SnippetRequest(
            base, entry["model"], ref, self.auth_mode, payload, **self.registries
        )
        return panel.filled(snippets(request), f"{source}, {entry['model']} {ref}")

    def for_file(self, file_info: dict[str, Any] | None, selection: Any, href: str | None) -> Any:
        """The CSV tab's file scored through the API: the CSV back with its predictions."""
        model, base = Selection.from_store(selection), console_url(href)
        if not file_info or model is None or base is None:
            return nothing()
        name = file_info["filename"]
        request = SnippetRequest(
            base,
            model.name,
            model.ref,
            self.auth_mode,
            csv_file=name,
            **self.registries,
        )
        return CSV_SNIPPETS.filled(snippets(request), f"{name}, {model.name} {model.ref}")


def register(app: dash.Dash, services: ConsoleServices) -> SnippetCallbacks:
    callbacks = SnippetCallbacks(services.settings)
    for panel, source in ((JSON_SNIPPETS, "JSON"), (FORM_SNIPPETS, "form")):
        app.callback(
            output=Output(panel.panel, "children"),
            inputs={"entry": Input(History.NEW, "data")},
            state={"href": State(Page.URL, "href")},
            prevent_initial_call=True,
        )(functools.partial(callbacks.for_prediction, panel=panel, source=source))
    app.callback(
        output=Output(CSV_SNIPPETS.panel, "children"),
        inputs={"file_info": Input(Csv.FILE, "data"), "selection": Input(Page.SELECTION, "data")},
        state={"href": State(Page.URL, "href")},
    )(callbacks.for_file)
    return callbacks
