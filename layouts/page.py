"""The page shell: header, tabs and the per-session stores."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.ids import Page
from services.config import Settings


def page_layout(settings: Settings) -> html.Div:
    return html.Div(
        [
            dcc.Location(id=Page.URL),
            dcc.Store(id=Page.SESSION_MODEL, storage_type="session"),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand([html.I(className="bi bi-boxes me-2"), "Model Console"]),
                        html.Span(id=Page.HEADER_MODEL, className="text-light small"),
                    ],
                    fluid=True,
                ),
                color="primary",
                dark=True,
                className="mb-3",
            ),
            dbc.Container(html.Div(id=Page.TABS), fluid=True),
        ]
    )
