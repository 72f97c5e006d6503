""" "Use via API": the request just made in the console (or the one its controls make),
written as code to run elsewhere — curl, Python ``requests``, JavaScript ``fetch``, a
Databricks-style Python function over a DataFrame — and the same model versions loaded in
a notebook with MLflow.

Filled with the console's address as the caller's browser reached it (its prefix included),
the model and the references the caller chose, the body sent or the file's name, and the
registry the console reads. Credentials are never written: each mode's are read from
environment variables the snippet names (and a registry URI loses any user and password it
holds). A prediction or a comparison of a JSON body is one request
(``one_request``); a file compared or evaluated is uploaded and run as a job
(``file_jobs``)."""

from __future__ import annotations

from services.snippets import file_jobs, one_request
from services.snippets.notebook import notebook
from services.snippets.request import (
    COMPARE,
    EVALUATE,
    PREDICT,
    SnippetRequest,
    Snippets,
    console_url,
)

__all__ = ["COMPARE", "EVALUATE", "PREDICT", "SnippetRequest", "Snippets", "console_url"]


def snippets(request: SnippetRequest) -> Snippets:
    if request.is_file_job:
        return Snippets(
            file_jobs.curl(request),
            file_jobs.python_requests(request),
            file_jobs.javascript_fetch(request),
            None,
            notebook(request),
        )
    databricks = one_request.databricks_python(request) if request.action == PREDICT else None
    return Snippets(
        one_request.curl(request),
        one_request.python_requests(request),
        one_request.javascript_fetch(request),
        databricks,
        notebook(request),
    )
