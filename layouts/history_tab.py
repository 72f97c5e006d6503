"""Prediction History: every run of this browser session, to open, download or run again."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import code_block, model_badge, placeholder, section
from layouts.ids import History, history_action

COLUMNS = ("Time (UTC)", "Run", "Model", "Rows", "File", "Answer", "")
OUTCOME_COLORS = {"ok": "success", "failed": "danger", "cancelled": "secondary"}
OUTCOME_WORDS = {"ok": "done", "failed": "failed", "cancelled": "cancelled"}


def layout(keep: int) -> html.Div:
    clear = dbc.Button(
        [html.I(className="bi bi-trash me-1"), "Clear history"],
        id=History.CLEAR,
        color="secondary",
        outline=True,
        size="sm",
        className="mt-3",
    )
    return html.Div(
        [
            section(
                f"This browser session's runs, newest first (the last {keep})",
                [html.Div(id=History.LIST), clear],
                "clock-history",
            ),
            html.Div(id=History.DETAIL),
        ]
    )


def _time(entry: dict[str, Any]) -> str:
    return entry["time"].replace("T", " ").replace("+00:00", "")


def _model(entry: dict[str, Any]) -> Any:
    if not entry.get("model"):
        return "—"
    return model_badge(
        entry["model"], entry.get("version") or "?", entry.get("ref"), entry.get("alias")
    )


def _rows(entry: dict[str, Any]) -> str:
    if entry.get("rows") is None:
        return "—"
    failed = f" ({entry['failed_rows']:,} failed)" if entry.get("failed_rows") else ""
    return f"{entry['rows']:,}{failed}"


def _file(entry: dict[str, Any]) -> str:
    if not entry.get("file"):
        return "—"
    return f"{entry['file']} · {entry['format']}" if entry.get("format") else entry["file"]


def _run(entry: dict[str, Any]) -> list[Any]:
    outcome = entry.get("outcome", "ok")
    return [
        dbc.Badge(entry["source"], color="info"),
        " ",
        dbc.Badge(
            OUTCOME_WORDS.get(outcome, outcome), color=OUTCOME_COLORS.get(outcome, "secondary")
        ),
    ]


def can_run_again(entry: dict[str, Any]) -> bool:
    return bool(entry.get("input") or entry.get("upload"))


def _actions(entry: dict[str, Any], downloads: dict[str, str]) -> list[Any]:
    buttons: list[Any] = [
        dbc.Button(
            "Open",
            id=history_action("open", entry["id"]),
            size="sm",
            color="link",
            className="p-0 me-2",
        )
    ]
    if can_run_again(entry):
        buttons.append(
            dbc.Button(
                "Run again",
                id=history_action("rerun", entry["id"]),
                size="sm",
                color="link",
                className="p-0 me-2",
            )
        )
    buttons += [
        html.A(f"Download {fmt}", href=href, className="small me-2")
        for fmt, href in downloads.items()
    ]
    return buttons


def history_table(entries: list[dict[str, Any]], downloads: dict[str, dict[str, str]]) -> Any:
    """``downloads``: for each entry id, the result files that still exist (format → link)."""
    if not entries:
        return html.P("No predictions yet in this session.", className="text-body-secondary mb-0")
    rows = [
        html.Tr(
            [
                html.Td(_time(entry), className="text-nowrap"),
                html.Td(_run(entry)),
                html.Td(_model(entry)),
                html.Td(_rows(entry)),
                html.Td(_file(entry)),
                html.Td(
                    html.Code(entry.get("preview") or "")
                    if entry.get("outcome") == "ok"
                    else html.Span(entry.get("message") or "", className="small")
                ),
                html.Td(_actions(entry, downloads.get(entry["id"], {})), className="text-nowrap"),
            ]
        )
        for entry in entries
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(c) for c in COLUMNS])), html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 history-table",
    )


def entry_detail(entry: dict[str, Any], downloads: dict[str, str], note: Any = None) -> Any:
    """One run, opened: everything the table has, the input it was given and its files."""
    facts: list[Any] = [
        html.Div([html.Strong("When: "), _time(entry), " UTC"]),
        html.Div([html.Strong("Run: "), *_run(entry)]),
        html.Div([html.Strong("Model: "), _model(entry)]),
        html.Div([html.Strong("Rows: "), _rows(entry)]),
    ]
    if entry.get("file"):
        facts.append(html.Div([html.Strong("File: "), _file(entry)]))
    if entry.get("latency_ms") is not None:
        facts.append(html.Div([html.Strong("Time taken: "), f"{entry['latency_ms']:,} ms"]))
    if entry.get("message"):
        facts.append(html.Div([html.Strong("Message: "), entry["message"]]))
    if entry.get("preview"):
        facts.append(html.Div([html.Strong("Answer: "), html.Code(entry["preview"])]))
    body: list[Any] = [html.Div(facts, className="d-flex flex-column gap-1 mb-2")]
    if entry.get("input"):
        body += [html.Div("Input:", className="small"), code_block(entry["input"], "json")]
    if downloads:
        body.append(
            html.Div(
                [
                    html.A(
                        f"Download the {fmt} result",
                        href=href,
                        className="btn btn-outline-success btn-sm me-2",
                    )
                    for fmt, href in downloads.items()
                ]
            )
        )
    elif entry.get("results"):
        body.append(placeholder("Its result files have expired."))
    if note is not None:
        body.insert(0, note)
    return section(f"Run of {_time(entry)}", body, "folder2-open")


def rerun_note(message: str, color: str = "info") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2")
