"""A scoring job's name: the page load that started it and its Predict count."""

from __future__ import annotations

import re

from services.errors import InvalidInput

_PAGE_LOAD = re.compile(r"[0-9a-f]{32}")
MAX_RUNS = 10**9


def job_key(page_load: str | None, run: int | None) -> str:
    """``<page load>-<run>``: names the job's marks in the caller's area and binds its seal.
    Both parts come from the browser, so both are checked."""
    if (
        not isinstance(page_load, str)
        or not _PAGE_LOAD.fullmatch(page_load)
        or type(run) is not int
        or not 0 <= run < MAX_RUNS
    ):
        raise InvalidInput("This page's job reference is not valid.", hint="Reload the page.")
    return f"{page_load}-{run}"
