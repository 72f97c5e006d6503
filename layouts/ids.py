"""Every component ID, once. Values are kebab-case and prefixed by their tab."""

from __future__ import annotations

from enum import StrEnum


class Page(StrEnum):
    URL = "page-url"
    SESSION_MODEL = "page-session-model"
    HEADER_MODEL = "page-header-model"
    TABS = "page-tabs"
    THEME_SWITCH = "page-theme-switch"
    THEME_STORE = "page-theme-store"
