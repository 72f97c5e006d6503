"""The page shell: header with the session's model, the five tabs, per-session stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import config_tab, csv_tab, help_tab, history_tab, json_tab, monitor_tab
from layouts.components import selection_badge
from layouts.features import table_panel
from layouts.ids import History, Page, Tab
from layouts.selection import Selection
from services.settings import Settings

# Dash's own page with the language said (screen readers pick their voice by it).
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""

TAB_LABELS = {
    Tab.CONFIG: "Model Configuration",
    Tab.JSON: "JSON Prediction",
    Tab.CSV: "CSV Prediction",
    Tab.HISTORY: "Prediction History",
    Tab.MONITOR: "Compare & Monitor",
    Tab.HELP: "Help",
}


def header() -> dbc.Navbar:
    theme = dbc.Switch(
        id=Page.THEME_SWITCH,
        label=[html.I(className="bi bi-moon-stars me-1"), "Dark mode"],
        value=False,
        persistence=True,
        persistence_type="local",
        class_name="mb-0 theme-switch",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.I(className="bi bi-boxes me-2"), "Model Console"]),
                html.Div(
                    [
                        html.Span(id=Page.JOB, className="header-job me-3", role="status"),
                        html.Span(id=Page.HEADER_MODEL, className="header-model me-1"),
                        dbc.Button(
                            [html.I(className="bi bi-link-45deg me-1"), "Copy link"],
                            id=Page.COPY_LINK,
                            size="sm",
                            color="light",
                            outline=True,
                            className="me-3 copy-link",
                            title="Copy a link that opens this model, version, tab and job",
                        ),
                        html.A(  # relative: the console's own /api/docs under any prefix
                            [html.I(className="bi bi-code-slash me-1"), "API"],
                            href="api/docs",
                            target="_blank",
                            className="btn btn-sm btn-outline-light me-3",
                            title="The API's interactive reference (OpenAPI)",
                        ),
                        html.Span(id=Page.USER, className="header-model me-3"),
                        theme,
                    ],
                    className="d-flex align-items-center flex-wrap gap-1",
                ),
            ],
            fluid=True,
        ),
        dark=True,
        className="mb-3 console-header sticky-top",
    )


def page_layout(settings: Settings) -> html.Div:
    upload_limit_bytes = settings.upload_limit_bytes
    tabs: dict[Tab, Any] = {
        Tab.CONFIG: config_tab.layout(settings.default_model, settings.default_version),
        Tab.JSON: json_tab.layout(),
        Tab.CSV: html.Div(
            [csv_tab.layout(upload_limit_bytes), table_panel.layout(bool(settings.spark_remote))]
        ),
        Tab.HISTORY: history_tab.layout(settings.history_size),
        Tab.MONITOR: monitor_tab.layout(),
        Tab.HELP: help_tab.layout(upload_limit_bytes),
    }
    poll_ms = max(settings.alias_cache_seconds, 2) * 1000
    return html.Div(
        [
            dcc.Location(id=Page.URL, refresh=False),
            dcc.Store(id=Page.SELECTION, storage_type="session"),
            dcc.Store(id=Page.OPEN_JOB),
            dcc.Store(id=Page.URL_READ, data=False),
            dcc.Store(id=Page.URL_ASKED),
            dcc.Store(id=Page.URL_TABS, data=url_tabs()),
            dcc.Store(id=History.SHOWN),
            dcc.Store(id=History.NEW),
            dcc.Store(id=History.KEEP, data=settings.history_size),
            dcc.Store(id=History.BROWSER),
            dcc.Store(id=History.HANDED),
            dcc.Interval(id=Page.JOB_TICK, interval=poll_ms),
            dcc.Interval(id=Page.ALIAS_TICK, interval=poll_ms),
            html.Div(id=Page.THEME_DUMMY, hidden=True),
            html.Div(id=Page.URL_WRITTEN, hidden=True),
            header(),
            # One main landmark with the page's heading: screen readers jump to both.
            html.Main(
                [
                    html.H1("Model Console", className="visually-hidden"),
                    dbc.Container(
                        [html.Div(id=Page.ALIAS_NOTICE), html.Div(id=Page.JOB_CANCELLED)],
                        fluid=True,
                    ),
                    dbc.Container(
                        dbc.Tabs(
                            [
                                dbc.Tab(body, label=TAB_LABELS[tab], tab_id=tab, class_name="pt-3")
                                for tab, body in tabs.items()
                            ],
                            id=Page.TABS,
                            active_tab=Tab.CONFIG,
                            class_name="console-tabs",
                        ),
                        fluid=True,
                        className="pb-5",
                    ),
                ]
            ),
        ]
    )


def header_model(selection: Selection | None) -> list[Any]:
    return [html.I(className="bi bi-box-seam me-1"), selection_badge(selection)]


def alias_moved(alias: str, now: str, using: str) -> dbc.Alert:
    """An alias moved (a promotion, a rollback) since its version was loaded."""
    return dbc.Alert(
        [
            html.I(className="bi bi-arrow-left-right me-2"),
            f"{alias} now points to version {now}; you are using version {using}. ",
            dbc.Button(
                f"Load version {now}",
                id=Page.SWITCH_VERSION,
                size="sm",
                color="primary",
                className="ms-2",
            ),
        ],
        color="info",
        className="py-2 mb-2 alias-moved",
    )


def signed_in(user: str | None) -> list[Any]:
    if not user:
        return []
    return [html.I(className="bi bi-person-circle me-1"), user]


@dataclass(frozen=True)
class PageState:
    """What a URL asks the page to show: ``?model=…&version=…&tab=json&job=…`` (written by
    ``assets/console.js`` as the person moves; tabs by their short names)."""

    model: str | None = None
    ref: str | None = None
    tab: Tab | None = None
    job: str | None = None


TAB_NAMES = {tab.value.removeprefix("tab-"): tab for tab in Tab}
JOB_TAB = Tab.CSV  # a URL naming a job and no tab: where jobs are shown


def url_tabs() -> dict[str, Any]:
    """What ``page_state`` reads of a URL's tab, for the browser to open it before the
    server answers (assets/console.js ``openTab``)."""
    return {"tabs": {name: tab.value for name, tab in TAB_NAMES.items()}, "job": JOB_TAB.value}


def page_state(search: str | None) -> PageState:
    """The URL's query read as untrusted text: unknown tabs and empty values are ignored; a
    job alone opens the CSV tab (where jobs are shown)."""
    query = parse_qs((search or "").lstrip("?"), max_num_fields=20)

    def one(key: str) -> str | None:
        values = [v.strip() for v in query.get(key, []) if v.strip()]
        return values[0][:500] if values else None

    job = one("job")
    tab = TAB_NAMES.get(one("tab") or "") or (JOB_TAB if job else None)
    return PageState(one("model"), one("version"), tab, job)
