"""Every component ID, once. Values are kebab-case and prefixed by their tab."""

from __future__ import annotations

from enum import StrEnum


class Page(StrEnum):
    URL = "page-url"
    TABS = "page-tabs"
    HEADER_MODEL = "page-header-model"
    USER = "page-user"
    SELECTION = "page-selection"
    THEME_SWITCH = "page-theme-switch"
    THEME_DUMMY = "page-theme-dummy"


class Config(StrEnum):
    MODEL = "config-model"
    VERSION = "config-version"
    LOAD = "config-load"
    STATUS = "config-status"
    DETAILS = "config-details"


class Json(StrEnum):
    TEXT = "json-text"
    EDITOR = "json-editor"
    EDITOR_DUMMY = "json-editor-dummy"
    VALIDATION = "json-validation"
    DEMO = "json-demo"
    PREDICT = "json-predict"
    RESULT = "json-result"
    FORM_FIELDS = "json-form-fields"
    FORM_FIELD = "json-form-field"
    FORM_PREDICT = "json-form-predict"
    FORM_RESULT = "json-form-result"


class Csv(StrEnum):
    UPLOAD = "csv-upload"
    FILE_INPUT = "csv-file-input"
    UPLOAD_PROGRESS = "csv-upload-progress"
    UPLOAD_ERROR = "csv-upload-error"
    REJECTED = "csv-rejected"
    FILE = "csv-file"
    PREVIEW = "csv-preview"
    PREDICT = "csv-predict"
    CANCEL = "csv-cancel"
    RESULT_FORMAT = "csv-result-format"
    PROGRESS = "csv-progress"
    PROGRESS_BOX = "csv-progress-box"
    PROGRESS_TEXT = "csv-progress-text"
    WATCHDOG = "csv-watchdog"
    STALL = "csv-stall"
    WATCH_SEEN = "csv-watch-seen"
    RESULT = "csv-result"
    RESULT_FILE = "csv-result-file"
    DOWNLOAD_BUTTON = "csv-download-button"
    PAGE_LOAD = "csv-page-load"
    JOB_STATE = "csv-job-state"
    CANCELLED_RUN = "csv-cancelled-run"


class History(StrEnum):
    STORE = "history-store"
    LIST = "history-list"
    CLEAR = "history-clear"


class Tab(StrEnum):
    CONFIG = "tab-config"
    JSON = "tab-json"
    CSV = "tab-csv"
    HISTORY = "tab-history"
    HELP = "tab-help"


ALL_IDS = [member for group in (Page, Config, Json, Csv, History, Tab) for member in group]


def form_field(column: str) -> dict[str, str]:
    """Pattern-matching ID of the form input for one signature column."""
    return {"type": Json.FORM_FIELD, "column": column}
