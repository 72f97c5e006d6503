"""The page shell: header with the session's model, the five tabs, per-session stores."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import (
    config_tab,
    csv_tab,
    help_tab,
    history_tab,
    json_tab,
    monitor_tab,
    table_panel,
)
from layouts.components import selection_badge
from layouts.ids import History, Page, Tab
from services.settings import Settings

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
                        html.Span(id=Page.HEADER_MODEL, className="header-model me-3"),
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
            [
                csv_tab.layout(upload_limit_bytes, settings.job_stall_seconds),
                table_panel.layout(bool(settings.spark_remote)),
            ]
        ),
        Tab.HISTORY: history_tab.layout(settings.history_size),
        Tab.MONITOR: monitor_tab.layout(),
        Tab.HELP: help_tab.layout(upload_limit_bytes),
    }
    return html.Div(
        [
            dcc.Location(id=Page.URL),
            dcc.Store(id=Page.SELECTION, storage_type="session"),
            dcc.Store(id=History.STORE, storage_type="session"),
            html.Div(id=Page.THEME_DUMMY, hidden=True),
            header(),
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
    )


def header_model(selection: dict[str, Any] | None) -> list[Any]:
    return [html.I(className="bi bi-box-seam me-1"), selection_badge(selection)]


def signed_in(user: str | None) -> list[Any]:
    if not user:
        return []
    return [html.I(className="bi bi-person-circle me-1"), user]
