"""Every component ID, once. Values are kebab-case and prefixed by their tab."""

from __future__ import annotations

from enum import StrEnum


class Page(StrEnum):
    URL = "page-url"
    TABS = "page-tabs"
    HEADER_MODEL = "page-header-model"
    USER = "page-user"
    JOB = "page-job"
    SELECTION = "page-selection"
    THEME_SWITCH = "page-theme-switch"
    THEME_DUMMY = "page-theme-dummy"
    OPEN_JOB = "page-open-job"  # the job the URL names (started or opened last)
    JOB_TICK = "page-job-tick"  # asks the server for the person's jobs
    JOB_CANCELLED = "page-job-cancelled"  # what a Cancel that could not be done says
    ALIAS_TICK = "page-alias-tick"  # asks whether the loaded alias has moved
    ALIAS_NOTICE = "page-alias-notice"
    SWITCH_VERSION = "page-switch-version"
    COPY_LINK = "page-copy-link"
    URL_WRITTEN = "page-url-written"
    URL_READ = "page-url-read"  # the page has done what its URL asked: it may write it now
    URL_ASKED = "page-url-asked"  # a query the page did not write itself: a link, back, forward
    URL_TABS = "page-url-tabs"  # the tab each URL names (read in the browser, at once)


class Config(StrEnum):
    MODEL = "config-model"
    VERSION = "config-version"
    LOAD = "config-load"
    PENDING = "config-pending"
    STATUS = "config-status"
    DETAILS = "config-details"
    SUGGESTION = "config-suggestion"
    NEXT = "config-next"
    GO_JSON = "config-go-json"
    GO_CSV = "config-go-csv"
    IMPORTANCE = "config-importance"


class Promote(StrEnum):
    """Model Configuration's aliases and traffic split (``layouts/features/promotion.py``)."""

    SECTION = "config-promote-section"
    PERMISSION = "config-promote-permission"
    ALIAS = "config-promote-alias"
    ALIAS_NAMES = "config-promote-alias-names"
    VERSION = "config-promote-version"
    SET = "config-promote-set"
    DELETE = "config-promote-delete"
    STATUS = "config-promote-status"
    HISTORY = "config-promote-history"
    ROLLBACK = "config-promote-rollback"
    SPLIT = "config-promote-split"
    SPLIT_SAVE = "config-promote-split-save"
    MODAL = "config-promote-modal"
    MODAL_TITLE = "config-promote-modal-title"
    MODAL_BODY = "config-promote-modal-body"
    CONFIRM = "config-promote-confirm"
    CANCEL = "config-promote-cancel"
    PENDING = "config-promote-pending"  # the move waiting for its confirmation
    CHANGED = "config-promote-changed"  # counts the moves made here: the panel redraws


class Json(StrEnum):
    """The JSON tab. Its two answers (the editor's, the form's) are ``layouts.answer``'s."""

    ACTIVE = "json-active"
    TEXT = "json-text"
    EDITOR = "json-editor"
    EDITOR_DUMMY = "json-editor-dummy"
    PROBLEM = "json-problem"
    VALIDATION = "json-validation"
    DEMO = "json-demo"
    PREDICT = "json-predict"
    FORM_FIELDS = "json-form-fields"
    FORM_FIELD = "json-form-field"
    FORM_SWITCH = "json-form-switch"
    FORM_FEEDBACK = "json-form-feedback"
    FORM_STATUS = "json-form-status"
    FORM_PREDICT = "json-form-predict"


class Csv(StrEnum):
    ACTIVE = "csv-active"
    UPLOAD = "csv-upload"
    FILE_INPUT = "csv-file-input"
    UPLOAD_PROGRESS = "csv-upload-progress"
    UPLOAD_ERROR = "csv-upload-error"
    REJECTED = "csv-rejected"
    FILE = "csv-file"
    PREVIEW = "csv-preview"
    PREVIEW_GRID = "csv-preview-grid"
    PREDICT = "csv-predict"
    START_ERROR = "csv-start-error"
    RESULT_FORMAT = "csv-result-format"
    DOWNLOAD_BUTTON = "csv-download-button"


class Table(StrEnum):
    """The "Score a table" panel of the CSV tab (table jobs, on this server or Spark)."""

    RUN_ON = "table-run-on"
    SOURCE = "table-source"
    DESTINATION = "table-destination"
    FORMAT = "table-format"
    START = "table-start"
    START_ERROR = "table-start-error"


class Compare(StrEnum):
    """ "Compare with" in the JSON and CSV tabs (layouts/compare.py)."""

    JSON_WITH = "compare-json-with"
    JSON_RUN = "compare-json-run"
    FORM_RUN = "compare-form-run"
    JSON_RESULT = "compare-json-result"
    CSV_WITH = "compare-csv-with"
    CSV_RUN = "compare-csv-run"
    CSV_ERROR = "compare-csv-error"


class Monitor(StrEnum):
    """The Compare & Monitor tab: traffic of a split, drift over time (layouts/monitor_tab.py)."""

    ACTIVE = "monitor-active"
    PERIOD = "monitor-period"
    REFRESH = "monitor-refresh"
    TRAFFIC = "monitor-traffic"
    DRIFT = "monitor-drift"


class History(StrEnum):
    SHOWN = "history-shown"  # which of the person's runs the list shows now (drawn on a change)
    NEW = "history-new"  # the run just made (the server has stored it)
    KEEP = "history-keep"  # how many runs are kept (HISTORY_SIZE)
    BROWSER = "history-browser"  # runs an older version kept in this browser, to hand over
    HANDED = "history-handed"  # those the server has taken: the browser forgets them
    LIST = "history-list"
    JOBS = "history-jobs"  # the person's jobs, from the server
    JOBS_SHOWN = "history-jobs-shown"  # what the jobs list shows now (drawn when it changes)
    CLEAR = "history-clear"
    ACTION = "history-action"
    DETAIL = "history-detail"


class Insight(StrEnum):
    """What-if on the form, class probabilities of a CSV job, a grid row's explanation."""

    WHATIF_NOTE = "json-whatif-note"
    WHATIF_FEATURE = "json-whatif-feature"
    WHATIF_ICE = "json-whatif-ice"
    WHATIF_SLIDER = "json-whatif-slider"
    WHATIF_CHOICE = "json-whatif-choice"
    JSON_GRID = "json-result-grid"
    JSON_ROW = "json-row-explanation"
    CSV_PROBABILITIES = "csv-probabilities"
    CSV_GRID = "csv-result-grid"
    CSV_ROW = "csv-row-explanation"


class Tab(StrEnum):
    CONFIG = "tab-config"
    JSON = "tab-json"
    CSV = "tab-csv"
    HISTORY = "tab-history"
    MONITOR = "tab-monitor"
    HELP = "tab-help"


ALL_IDS = [
    member
    for group in (Page, Config, Promote, Json, Csv, Table, Compare, Monitor, History, Insight, Tab)
    for member in group
]


def form_field(column: str) -> dict[str, str]:
    """Pattern-matching ID of the form input for one signature column."""
    return {"type": Json.FORM_FIELD, "column": column}


def form_switch(column: str) -> dict[str, str]:
    """Pattern-matching ID of the form's true/false switch for one signature column."""
    return {"type": Json.FORM_SWITCH, "column": column}


def form_feedback(column: str) -> dict[str, str]:
    """Where the form says what is wrong with one field."""
    return {"type": Json.FORM_FEEDBACK, "column": column}


def suggestion(field: str, value: str) -> dict[str, str]:
    """A clickable "did you mean" choice for the model (``field="model"``) or version."""
    return {"type": Config.SUGGESTION, "field": field, "value": value}


def history_action(action: str, entry: str) -> dict[str, str]:
    """A button on one history entry (``open``, ``rerun``), by the entry's id."""
    return {"type": History.ACTION, "action": action, "entry": entry}


def whatif_slider(column: str) -> dict[str, str]:
    """The what-if slider beside a numeric form field (kept in step with its text)."""
    return {"type": Insight.WHATIF_SLIDER, "column": column}


def whatif_choice(column: str) -> dict[str, str]:
    """The list of categories seen in training beside a text form field."""
    return {"type": Insight.WHATIF_CHOICE, "column": column}


def rollback_button(alias: str) -> dict[str, str]:
    """The Roll back button of one alias in the history."""
    return {"type": Promote.ROLLBACK, "alias": alias}
