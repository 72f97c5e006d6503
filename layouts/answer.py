"""A prediction's answer on the page: one component, used by the JSON editor and by the form,
each instance with its own IDs (scoped by its name).

A one-row answer shows at once; its confidence and explanation follow into their own slots
(the answer never waits for them), asked for through the instance's ``asked`` store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import dcc, html


@dataclass(frozen=True)
class Answer:
    name: str

    @property
    def result(self) -> str:
        return f"{self.name}-result"

    @property
    def stale(self) -> str:
        """Says when the answer on screen came from another model than the loaded one."""
        return f"{self.name}-stale"

    @property
    def answered_by(self) -> str:
        """The selection that gave the answer on screen."""
        return f"{self.name}-answered-by"

    @property
    def confidence(self) -> str:
        return f"{self.name}-confidence"

    @property
    def insight(self) -> str:
        return f"{self.name}-insight"

    @property
    def asked(self) -> str:
        """The one-row answer whose confidence and explanation are to follow."""
        return f"{self.name}-insight-asked"

    def layout(self, empty: Any = None) -> html.Div:
        """The slot for the answer (a spinner only while the answer itself is worked out:
        what follows it must not hide it), and what the instance keeps."""
        return html.Div(
            [
                html.Div(id=self.stale, className="stale-slot"),
                dcc.Loading(
                    html.Div(empty, id=self.result),
                    type="dot",
                    target_components={self.result: "children"},
                ),
                dcc.Store(id=self.answered_by),
                dcc.Store(id=self.asked),
            ]
        )


JSON_ANSWER = Answer("json")
FORM_ANSWER = Answer("json-form")
ANSWERS = (JSON_ANSWER, FORM_ANSWER)
