"""Dash's side of the CSV scoring job: who runs it, and what travels with it.

Jobs run as Dash background callbacks: by default in a clean process on this server
(``CleanProcessJobs``, job store in $APP_DATA_DIR/jobs; see ``job_process``), with REDIS_URL
in Celery workers (``CeleryManager``), which may run on other machines. Before every
callback Dash runs our ``custom_data`` hook in the web request: it takes the request's
credentials out of the context Dash copies into a job (into Redis, under Celery) and, for the
CSV job, puts in the caller sealed for that one job together with the console's prefix, which
is how a Celery job finds its console (Dash keeps background functions and hooks
process-wide, shared by every console). A clean process is given its console's settings.
What the job leaves for the page is in ``services/jobs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dash
from dash import hooks
from flask import Flask, Response, request
from plotly.io.json import to_json_plotly as to_json

from layouts.components import error_alert
from layouts.ids import Csv, History
from services.access.identity import TOKEN_HEADER, current_caller
from services.errors import ConsoleError, too_many_jobs
from services.jobs.keys import job_key
from services.settings import Settings
from services.wiring import ConsoleServices

if TYPE_CHECKING:
    from celery import Celery

EXTENSION = "model_console"  # server.extensions[EXTENSION][url_base_pathname] -> Mounted
JOB_CALLER = "model_console_job_caller"  # callback_context.custom_data[JOB_CALLER]
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", TOKEN_HEADER.lower()}
JobManager = dash.DiskcacheManager | dash.CeleryManager
CleanProcessJob = Callable[[Settings, str, str, Any, dict], None]
JOB_OUTPUTS = (f"{Csv.RESULT_FILE}.data", f"{History.STORE}.data")  # the CSV job's, only


@dataclass
class Mounted:
    """One console in a Flask server: its services, its job manager, and the CSV job."""

    services: ConsoleServices
    manager: JobManager
    run_csv_job: Callable[..., tuple[Any, ...]] | None = None


def mount(server: Flask, prefix: str, mounted: Mounted) -> None:
    server.extensions.setdefault(EXTENSION, {})[prefix] = mounted
    callbacks_route = f"{prefix}_dash-update-component"

    @server.before_request
    def refuse_job_floods() -> Response | None:
        """A new CSV job while the caller already runs ``JOBS_PER_USER``: answered here, so
        a flood of (forged) Predict requests makes no processes."""
        if request.path != callbacks_route or "cacheKey" in request.args:
            return None
        body = request.get_json(silent=True) or {}
        output = body.get("output") if isinstance(body, dict) else None
        if not isinstance(output, str) or not all(part in output for part in JOB_OUTPUTS):
            return None
        limit = mounted.services.settings.jobs_per_user
        if mounted.services.jobs.active(current_caller()) < limit:
            return None
        alert = error_alert(too_many_jobs(limit)).to_plotly_json()
        answer = {"multi": True, "response": {Csv.RESULT: {"children": alert}}}
        return Response(to_json(answer), mimetype="application/json")


def mounted_console(prefix: str | None = None) -> Mounted | None:
    """The console at ``prefix`` (default: the one serving this request) in the current
    Dash app's server; None in another Dash app that shares the process."""
    app = dash.get_app()
    return app.server.extensions.get(EXTENSION, {}).get(prefix or app.config.url_base_pathname)


def job_manager(settings: Settings, clean_process_job: CleanProcessJob) -> JobManager:
    """Celery with REDIS_URL; else clean processes here, each running ``clean_process_job``."""
    if settings.redis_url:
        return CeleryJobs(celery_for(settings), expire=settings.files_max_age_seconds)
    from callbacks.job_process import CleanProcessJobs  # diskcache only when it is used

    return CleanProcessJobs(settings, clean_process_job)


class CeleryJobs(dash.CeleryManager):
    """Dash's Celery manager, where a task that has ended with its result not yet read still
    counts as running (see ``CleanProcessJobs.job_running``)."""

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        job = super().call_job_fn(key, job_fn, args, context)
        self.handle.backend.set(result_key_of(job), key)
        return job

    def job_running(self, job: Any) -> bool:
        if super().job_running(job):
            return True
        key = self.handle.backend.get(result_key_of(job))
        return key is not None and self.result_ready(key.decode())


def result_key_of(job: Any) -> str:
    return f"result-key-of-job:{job}"


def celery_for(settings: Settings) -> Celery:
    from celery import Celery  # imported only when REDIS_URL is set

    celery = Celery("model_console", broker=settings.redis_url, backend=settings.redis_url)
    celery.conf.update(
        result_expires=settings.files_max_age_seconds,
        worker_prefetch_multiplier=1,  # a long job must not hold others back in one worker
        broker_connection_retry_on_startup=True,
    )
    return celery


def csv_job(set_progress: Callable, *args: Any) -> tuple[Any, ...]:
    """The CSV job, run where the manager runs jobs. A Celery worker runs it outside any
    request, hence the app context (Flask-Caching needs one)."""
    console = mounted_console(job_data().get("console"))
    if console is None or console.run_csv_job is None:
        raise RuntimeError("This process has no model console to run the CSV job.")
    with dash.get_app().server.app_context():
        return run_sealed(console.run_csv_job, set_progress, *args)


def job_data() -> dict[str, Any]:
    """What ``seal_caller_for_jobs`` put into this job: its console and sealed caller."""
    return dash.callback_context.custom_data.get(JOB_CALLER) or {}


def run_sealed(
    run_csv_job: Callable[..., tuple[Any, ...]], set_progress: Callable, *args: Any
) -> tuple[Any, ...]:
    return run_csv_job(set_progress, job_data().get("caller"), *args)


def seal_caller_for_jobs(context: Any) -> dict[str, str] | None:
    """Runs in the web request before every callback (see the module's docstring)."""
    console = mounted_console()
    if console is None:
        return None
    context.headers = {
        k: v for k, v in context.headers.items() if k.lower() not in CREDENTIAL_HEADERS
    }
    context.cookies = {}
    page_load = context.state_values.get(f"{Csv.PAGE_LOAD}.data")
    run = context.input_values.get(f"{Csv.PREDICT}.n_clicks")
    if page_load is None or run is None:
        return None  # not the CSV job
    try:
        caller, job = current_caller(), job_key(page_load, run)
        sealed = console.services.seal.seal(caller, job)
    except ConsoleError:
        return None  # the job itself will say what is wrong
    console.services.jobs.queued(caller, job)
    return {"console": dash.get_app().config.url_base_pathname, "caller": sealed}


def install_job_identity() -> None:
    """Dash hooks are process-wide: add ours once, however many consoles the process has."""
    if not any(hook.func is seal_caller_for_jobs for hook in hooks.get_hooks("custom_data")):
        hooks.custom_data(JOB_CALLER)(seal_caller_for_jobs)
