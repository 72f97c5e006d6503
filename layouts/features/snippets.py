""" "Use via API": the request just made (or the one a section's choices make), as curl,
Python, JavaScript and Databricks-style Python, and the model loaded in a notebook, each with
a Copy button. One component, an instance per place (the JSON answer, the form's, the CSV
tab's file, a comparison of rows, a comparison of a file, each evaluation section), each
with its own IDs scoped by its name; ``callbacks/features/snippets.py`` fills it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import dcc, html

from services.snippets import Snippets

KINDS = (
    ("curl", "curl, in bash"),
    ("python", "Python (requests)"),
    ("javascript", "JavaScript (fetch, Node 18+)"),
    ("databricks", "Python, Databricks style (a DataFrame)"),  # predictions only
    ("notebook", "In a notebook: the model itself, loaded with MLflow"),
)
INTRO = "This request, to run from a terminal or a notebook"
NO_SECRET = "; no credential is written in it: each reads yours from the environment."
TOO_LARGE = "This input is too large to write out here; send it the same way as a file."


@dataclass(frozen=True)
class SnippetPanel:
    name: str

    @property
    def panel(self) -> str:
        return f"{self.name}-snippets"

    def code(self, kind: str) -> str:
        return f"{self.name}-snippets-{kind}"

    def copy(self, kind: str) -> str:
        return f"{self.name}-snippets-copy-{kind}"

    def layout(self) -> html.Div:
        """Empty until a request is made (the callback fills it)."""
        return html.Div(id=self.panel, className="snippets")

    def filled(self, snippets: Snippets, what: str) -> html.Details:
        """Closed (one line, "Use via API") until opened: the answer or the section above it
        stays in sight."""
        blocks = [
            self._block(kind, label, text)
            for kind, label in KINDS
            if (text := getattr(snippets, kind)) is not None
        ]
        return html.Details(
            [
                html.Summary(
                    [html.I(className="bi bi-code-slash me-2"), "Use via API"],
                    className="fw-semibold mb-1",
                ),
                html.P(f"{INTRO} ({what}){NO_SECRET}", className="small text-body-secondary"),
                *blocks,
            ],
            open=False,
            className="mt-3 snippets-panel",
        )

    def _block(self, kind: str, label: str, text: str) -> html.Div:
        copy = dcc.Clipboard(
            target_id=self.code(kind),
            id=self.copy(kind),
            title=f"Copy: {label}",
            className="btn btn-sm btn-outline-secondary snippet-copy",
        )
        return html.Div(
            [
                html.Div(
                    [html.Span(label, className="small"), copy],
                    className="d-flex justify-content-between align-items-center mb-1",
                ),
                # focusable: a keyboard scrolls a long line into view
                html.Pre(
                    html.Code(text), id=self.code(kind), className="snippet-code", tabIndex="0"
                ),
            ],
            className="mb-2",
        )


def too_large() -> html.Div:
    return html.Div(TOO_LARGE, className="small text-body-secondary mt-3")


def nothing() -> list[Any]:
    return []


JSON_SNIPPETS = SnippetPanel("json")
FORM_SNIPPETS = SnippetPanel("json-form")
CSV_SNIPPETS = SnippetPanel("csv")
COMPARE_ROWS_SNIPPETS = SnippetPanel("compare-json")
COMPARE_FILE_SNIPPETS = SnippetPanel("compare-csv")
