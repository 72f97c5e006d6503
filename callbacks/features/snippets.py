""" "Use via API" filled after each JSON and form prediction (from the history entry the
prediction wrote), after a comparison of rows (by the compare callbacks, through
``SnippetWriter``), and under the sections that work on the CSV tab's file — predict,
compare, evaluate — from their choices; the text itself is ``services/snippets/``."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, State, no_update

from layouts.features.evaluation import SECTIONS, EvaluationSection
from layouts.features.snippets import (
    COMPARE_FILE_SNIPPETS,
    COMPARE_ROWS_SNIPPETS,
    CSV_SNIPPETS,
    FORM_SNIPPETS,
    JSON_SNIPPETS,
    SnippetPanel,
    nothing,
    too_large,
)
from layouts.ids import Compare, Csv, History, Page
from layouts.selection import Selection
from services.history import INPUT_KEPT_CHARS, OK
from services.settings import Settings
from services.snippets import COMPARE, EVALUATE, SnippetRequest, console_url, snippets
from services.wiring import ConsoleServices


class SnippetWriter:
    """Snippets for this console's identity mode and registry."""

    def __init__(self, settings: Settings) -> None:
        self.auth_mode = settings.auth_mode
        self.registries = {
            "registry_uri": settings.registry_uri,
            "tracking_uri": settings.tracking_uri,
        }

    def request(self, base: str, model: str, ref: str, **what: Any) -> SnippetRequest:
        return SnippetRequest(base, model, ref, self.auth_mode, **what, **self.registries)

    def compared_rows(
        self, href: Any, model: Selection, other: str, payload: Any, shown_as: str
    ) -> Any:
        """Under a comparison just made: the same rows through the same two references."""
        base = console_url(href)
        if base is None:
            return nothing()
        if len(json.dumps(payload, default=str)) > INPUT_KEPT_CHARS:
            return too_large()  # as under a prediction of as many rows
        request = self.request(
            base, model.name, model.ref, payload=payload, action=COMPARE, compare_with=(other,)
        )
        what = f"{shown_as}, {model.name} {model.ref} and {other}"
        return COMPARE_ROWS_SNIPPETS.filled(snippets(request), what)


@dataclass(frozen=True)
class _TheFile:
    """What every snippet of the CSV tab's file starts from: the loaded model, the console's
    address and the file's name."""

    model: Selection
    base: str
    name: str

    @classmethod
    def of(cls, selection: Any, href: Any, file_info: Any) -> _TheFile | None:
        model, base = Selection.from_store(selection), console_url(href)
        if model is None or base is None or not isinstance(file_info, dict):
            return None
        name = file_info.get("filename")
        if not file_info.get("file_id") or not isinstance(name, str) or not name:
            return None
        return cls(model, base, name)


def _refs(chosen: Any) -> list[str]:
    return [ref for ref in (chosen if isinstance(chosen, list) else []) if isinstance(ref, str)]


class SnippetCallbacks:
    def __init__(self, settings: Settings) -> None:
        self.writer = SnippetWriter(settings)

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
        request = self.writer.request(base, entry["model"], ref, payload=payload)
        return panel.filled(snippets(request), f"{source}, {entry['model']} {ref}")

    def for_file(self, file_info: Any, selection: Any, href: str | None) -> Any:
        """The CSV tab's file scored through the API: the CSV back with its predictions."""
        the = _TheFile.of(selection, href, file_info)
        if the is None:
            return nothing()
        request = self.writer.request(the.base, the.model.name, the.model.ref, csv_file=the.name)
        return CSV_SNIPPETS.filled(
            snippets(request), f"{the.name}, {the.model.name} {the.model.ref}"
        )

    def for_file_compare(self, other: Any, file_info: Any, selection: Any, href: str | None) -> Any:
        """The file through the loaded version and the one chosen, as a job of the API's."""
        the = _TheFile.of(selection, href, file_info)
        if the is None or not isinstance(other, str) or not other:
            return nothing()
        model = the.model
        request = self.writer.request(
            the.base,
            model.name,
            model.ref,
            csv_file=the.name,
            action=COMPARE,
            compare_with=(other,),
        )
        what = f"{the.name}, {model.name} {model.ref} and {other}"
        return COMPARE_FILE_SNIPPETS.filled(snippets(request), what)

    def for_evaluation(
        self,
        label: Any,
        refs: Any,
        chosen_slice: Any,
        file_info: Any,
        selection: Any,
        href: str | None,
        where: EvaluationSection,
    ) -> Any:
        """The file evaluated against its label column by the versions chosen, as a job."""
        the = _TheFile.of(selection, href, file_info)
        if the is None or not isinstance(label, str) or not label:
            return nothing()
        first, *others = _refs(refs) or [the.model.ref]
        request = self.writer.request(
            the.base,
            the.model.name,
            first,
            csv_file=the.name,
            action=EVALUATE,
            compare_with=tuple(others),
            label=label,
            slice_column=chosen_slice if isinstance(chosen_slice, str) else None,
        )
        what = f"{the.name}, {the.model.name} {', '.join([first, *others])}, label {label}"
        return where.snippets.filled(snippets(request), what)


def register(app: dash.Dash, services: ConsoleServices) -> SnippetCallbacks:
    callbacks = SnippetCallbacks(services.settings)
    for panel, source in ((JSON_SNIPPETS, "JSON"), (FORM_SNIPPETS, "form")):
        app.callback(
            output=Output(panel.panel, "children"),
            inputs={"entry": Input(History.NEW, "data")},
            state={"href": State(Page.URL, "href")},
            prevent_initial_call=True,
        )(functools.partial(callbacks.for_prediction, panel=panel, source=source))

    # a fresh dict for each callback: Dash keeps and extends the ones it is given
    def the_file() -> dict[str, Input]:
        return {"file_info": Input(Csv.FILE, "data"), "selection": Input(Page.SELECTION, "data")}

    def href() -> dict[str, State]:
        return {"href": State(Page.URL, "href")}

    app.callback(output=Output(CSV_SNIPPETS.panel, "children"), inputs=the_file(), state=href())(
        callbacks.for_file
    )
    app.callback(
        output=Output(COMPARE_FILE_SNIPPETS.panel, "children"),
        inputs={"other": Input(Compare.CSV_WITH, "value"), **the_file()},
        state=href(),
    )(callbacks.for_file_compare)
    for where in SECTIONS:
        app.callback(
            output=Output(where.snippets.panel, "children"),
            inputs={
                "label": Input(where.label, "value"),
                "refs": Input(where.refs, "value"),
                "chosen_slice": Input(where.slice, "value"),
                **the_file(),
            },
            state=href(),
        )(functools.partial(callbacks.for_evaluation, where=where))
    return callbacks
