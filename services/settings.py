"""Settings read once from the environment, as plain data.

Every environment variable the console reads is declared once, in ``VARIABLES``: its name,
how its text is read, its default, its bounds and what it means. ``Settings.from_env`` reads
the ones that are settings; the code that reads the others (gunicorn.conf.py, the listen
address) asks their declaration; docs/configuration.md is written from the same list:

    python -m services.settings

This module imports nothing heavy: gunicorn.conf.py reads it in gunicorn's master.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION_DOC = PROJECT_ROOT / "docs" / "configuration.md"
REGENERATE = "python -m services.settings"
# Preselected on the embedded registry when MODEL_NAME is not set, so a first visit shows a model.
DEMO_MODEL = "main.ml_models.iris_classifier"
DEMO_REF = "Champion"
MB = 1024 * 1024


class ConfigurationError(Exception):
    """A deployment mistake the operator must fix before the console can start: one line
    that names the setting (variable, path or package) and what to do."""


# How a variable's text (stripped; never empty here) becomes a value: (name, text) -> value.
def whole_number(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        message = f"{name}={text!r} is not a whole number; unset it or fix it."
        raise ConfigurationError(message) from None


def as_text(name: str, text: str) -> str:
    return text


def lowercase(name: str, text: str) -> str:
    return text.lower()


def name_list(name: str, text: str) -> tuple[str, ...]:
    """Comma-separated names or patterns; blanks between commas are dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def yes_no(name: str, text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={text!r} is neither true nor false; unset it or fix it.")


def networks(name: str, text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or networks; an address alone is a network of one."""
    try:
        return tuple(ip_network(part, strict=False) for part in name_list(name, text))
    except ValueError as error:
        raise ConfigurationError(f"{name}={text!r}: {error}; unset it or fix it.") from None


def folder(name: str, text: str) -> Path:
    return Path(text).resolve()


def workspace_url(name: str, text: str) -> str | None:
    """A Databricks workspace as an https URL: ``adb-1.azuredatabricks.net/`` is accepted."""
    host = text.rstrip("/")
    if host and not host.startswith("http"):
        host = f"https://{host}"
    return host or None


def port_number(name: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(f"{name}={text!r} is not a port number (1-65535).")
    return int(text)


# A default that follows other values: (settings read so far, the environment) -> value.
Derived = Callable[[Mapping[str, object], Mapping[str, str]], object]


@dataclass(frozen=True)
class Variable:
    """One environment variable: where it goes, how it is read, and what the docs say."""

    name: str
    group: str
    meaning: str  # one line for docs/configuration.md
    setting: str | None = None  # the Settings field it fills; None: read where it is used
    parse: Callable[[str, str], object] = as_text
    default: object = None  # in the variable's own unit (MB, hours), before ``scale``
    derive: Derived | None = None  # a default that follows other settings (read before it)
    shown_default: str = ""  # how the docs show a default that is not a plain value
    minimum: int | None = None  # a value below is taken as the minimum
    maximum: int | None = None  # a value above is taken as the maximum
    at_least: int | None = None  # a value below stops the start
    below_reason: str = ""  # why, in the one line that stops it
    scale: int = 1  # the setting keeps bytes or seconds: MB * 1024 * 1024, hours * 3600
    choices: tuple[str, ...] = ()  # the values it may take (checked where it is used)
    read_by: str = ""  # for variables that are not settings: which code reads them

    def text(self, environ: Mapping[str, str] | None = None) -> str:
        """The variable's text as set, stripped; "" when unset."""
        return (os.environ if environ is None else environ).get(self.name, "").strip()

    def value(
        self, environ: Mapping[str, str] | None = None, read: Mapping[str, object] | None = None
    ) -> object:
        """The value the console uses: parsed, bounded and scaled, or the default.
        ``read`` holds the settings read so far, for a default that follows them."""
        environ = os.environ if environ is None else environ
        text = self.text(environ)
        if text:
            value = self.parse(self.name, text)
            if self.at_least is not None and value < self.at_least:  # type: ignore[operator]
                reason = f": {self.below_reason}" if self.below_reason else ""
                raise ConfigurationError(f"{self.name} must be at least {self.at_least}{reason}.")
        elif self.derive is not None:
            return self.derive(read or {}, environ)
        else:
            value = self.default
        if isinstance(value, int) and not isinstance(value, bool):
            if self.minimum is not None:
                value = max(value, self.minimum)
            if self.maximum is not None:
                value = min(value, self.maximum)
            value *= self.scale
        return value


REGISTRY = "The registry and the models"
FILES = "Where it keeps its data"
SERVER = "Where it listens, and how many processes serve"
CACHES = "Caches"
REQUESTS = "Requests, batches and history"
JOBS = "Jobs"
ACCESS = "Who the caller is, and what the console trusts"
SPARK = "Tables on Spark"
METRICS = "Prometheus metrics"
MLFLOW = "Read by MLflow, with the console's defaults"

GROUPS: dict[str, str] = {
    REGISTRY: "Which registry the console reads, and which models it offers and may load.",
    FILES: "Everything the console writes goes under one folder, except the audit database "
    "when it is set elsewhere.",
    SERVER: "Read by `python app.py` and `gunicorn.conf.py` (`gunicorn app:server`), not by "
    "the console inside another Flask app, whose host decides.",
    CACHES: "Each web worker keeps its own. A change in the registry (an alias moved, a grant "
    "revoked) is seen within these times.",
    REQUESTS: "",
    JOBS: "Scoring a file, a table or a comparison is a job held by the server; see "
    "[deploy.md](deploy.md#jobs-celery-workers-and-spark).",
    ACCESS: "See [deploy.md](deploy.md#security-model) for what an operator must set in "
    "production.",
    SPARK: "See [deploy.md](deploy.md#tables-on-spark).",
    METRICS: "`GET /metrics` (under the console's prefix): requests, latency and errors by "
    "route, model and version, failed model loads, jobs by state. See "
    "[deploy.md](deploy.md#prometheus-metrics) for who can read it.",
    MLFLOW: "The console sets these when they are unset, so that a person waiting on a page "
    'hears "registry unreachable" in seconds (MLflow\'s own defaults retry for minutes); '
    "set them to override.",
}


def _embedded(read: Mapping[str, object]) -> bool:
    return bool(read.get("embedded_registry"))


# Read outside ``Settings`` (by gunicorn.conf.py, the listen address, another default).
PORT = Variable(
    "PORT",
    SERVER,
    "Where gunicorn listens (1-65535), outside Databricks Apps.",
    parse=port_number,
    default=8050,
    read_by="`services.startup.listen_address`",
)
DATABRICKS_APP_PORT = Variable(
    "DATABRICKS_APP_PORT",
    SERVER,
    "Set by Databricks Apps: the console listens there instead of `PORT`.",
    parse=port_number,
    shown_default="set by Databricks Apps",
    read_by="`services.startup.listen_address`",
)
HOST = Variable(
    "HOST",
    SERVER,
    "The address gunicorn listens on.",
    derive=lambda read, env: "0.0.0.0" if DATABRICKS_APP_PORT.text(env) else "127.0.0.1",
    shown_default="`127.0.0.1`; `0.0.0.0` in Databricks Apps",
    read_by="`services.startup.listen_address`",
)
WEB_CONCURRENCY = Variable(
    "WEB_CONCURRENCY",
    SERVER,
    "gunicorn worker processes; each loads its own models and keeps its own caches.",
    parse=whole_number,
    default=2,
    read_by="`gunicorn.conf.py`",
)
GUNICORN_THREADS = Variable(
    "GUNICORN_THREADS",
    SERVER,
    "Threads per worker: the requests one worker serves at once.",
    parse=whole_number,
    default=8,
    read_by="`gunicorn.conf.py`",
)
DATABRICKS_APP_NAME = Variable(
    "DATABRICKS_APP_NAME",
    ACCESS,
    "Set by Databricks Apps; while it is set, `databricks` is the default `APP_AUTH_MODE`.",
    shown_default="set by Databricks Apps",
    read_by="`APP_AUTH_MODE`'s default",
)
APP_AUTH_MODE = Variable(
    "APP_AUTH_MODE",
    ACCESS,
    "Who the caller is: `none` (one local user), `mlflow-basic` (HTTP Basic checked "
    "against the MLflow auth server at `MLFLOW_TRACKING_URI`), `databricks` (the Apps "
    "proxy's forwarded user and token).",
    setting="auth_mode",
    parse=lowercase,
    derive=lambda read, env: "databricks" if DATABRICKS_APP_NAME.text(env) else "none",
    shown_default="`none`; `databricks` when `DATABRICKS_APP_NAME` is set",
    choices=("none", "mlflow-basic", "databricks"),
)
MLFLOW_TRACKING_URI = Variable(
    "MLFLOW_TRACKING_URI",
    REGISTRY,
    "The registry: a `sqlite:///…` file or an MLflow server's `http(s)://` address "
    "(`databricks` in Databricks Apps). When it is set, nothing is seeded.",
    setting="tracking_uri",
    derive=lambda read, env: embedded_tracking_uri(read["app_data_dir"]),  # type: ignore[arg-type]
    shown_default="the embedded registry, `sqlite:///$APP_DATA_DIR/registry.db`, seeded "
    "once with the demo models",
)

PROMETHEUS_MULTIPROC_DIR = Variable(
    "PROMETHEUS_MULTIPROC_DIR",
    METRICS,
    "Where gunicorn's workers write their counts for a scrape to add up; emptied at each start.",
    shown_default="`$APP_DATA_DIR/prometheus` (set by gunicorn's master)",
    read_by="`services.startup.prepare_metrics_dir` and `prometheus_client`",
)

# In declaration order: a default that follows another setting comes after it.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "APP_DATA_DIR",
        FILES,
        "The embedded registry, uploads, results, the job secret, and (unless "
        "`AUDIT_DB_URL` says otherwise) the audit log and the job records; created if "
        "missing.",
        setting="app_data_dir",
        parse=folder,
        default=(PROJECT_ROOT / ".app-data").resolve(),
        shown_default="`.app-data/` in the project folder",
    ),
    MLFLOW_TRACKING_URI,
    Variable(
        "MLFLOW_REGISTRY_URI",
        REGISTRY,
        "Where the model registry lives when it is not the tracking server "
        "(`databricks-uc`: Unity Catalog).",
        setting="registry_uri",
        derive=lambda read, env: read["tracking_uri"],
        shown_default="`MLFLOW_TRACKING_URI`",
    ),
    Variable(
        "MODEL_NAME",
        REGISTRY,
        "The model preselected and loaded on a first visit.",
        setting="default_model",
        derive=lambda read, env: DEMO_MODEL if _embedded(read) else None,
        shown_default=f"`{DEMO_MODEL}` on the embedded registry, else none",
    ),
    Variable(
        "MODEL_VERSION",
        REGISTRY,
        "Its version or alias.",
        setting="default_version",
        derive=lambda read, env: DEMO_REF if _embedded(read) else None,
        shown_default=f"`{DEMO_REF}` on the embedded registry, else none",
    ),
    Variable(
        "MODEL_ALLOW",
        REGISTRY,
        "Comma-separated name patterns (`main.ml_models.*,prod.*.fraud_*`; case does not "
        "matter) of the models the console may load; others are refused (403 "
        "`MODEL_NOT_ALLOWED`), never looked up, and not listed.",
        setting="model_allow",
        parse=name_list,
        default=(),
        shown_default="any model",
    ),
    Variable(
        "AUDIT_DB_URL",
        FILES,
        "Any SQLAlchemy URL (`postgresql+psycopg://…`) for the audit log and the job "
        "records. Point it at a database that outlives the container; replicas and Celery "
        "workers that share it see the same jobs.",
        setting="audit_db_url",
        default="",
        shown_default="`sqlite:///$APP_DATA_DIR/audit.db`",
    ),
    Variable(
        "FILES_MAX_AGE_HOURS",
        FILES,
        "Uploads and results older than this are removed, and their jobs with them.",
        setting="files_max_age_seconds",
        parse=whole_number,
        default=24,
        at_least=1,
        below_reason="with less, files are removed while people (and their jobs) still use them",
        scale=3600,
    ),
    Variable(
        "USER_QUOTA_MB",
        FILES,
        "Disk each person's uploads and results may take; above it, 507 `QUOTA_EXCEEDED`.",
        setting="user_quota_bytes",
        parse=whole_number,
        default=10 * 1024,
        at_least=1,
        scale=MB,
    ),
    PORT,
    DATABRICKS_APP_PORT,
    HOST,
    WEB_CONCURRENCY,
    GUNICORN_THREADS,
    Variable(
        "MODEL_CACHE_SIZE",
        CACHES,
        "Loaded models kept per worker process.",
        setting="model_cache_size",
        parse=whole_number,
        default=8,
    ),
    Variable(
        "ALIAS_CACHE_SECONDS",
        CACHES,
        "How long an alias resolution (and the traffic split tag) is reused: a move made "
        "in the registry itself is seen within this time, one made in the console at once "
        "by every worker; 0 reads it every time.",
        setting="alias_cache_seconds",
        parse=whole_number,
        default=5,
    ),
    Variable(
        "METADATA_CACHE_SECONDS",
        CACHES,
        "How long a version's file list (signature, input example) is reused.",
        setting="metadata_cache_seconds",
        parse=whole_number,
        default=30,
    ),
    Variable(
        "PERMISSION_CACHE_SECONDS",
        CACHES,
        "How long a permission verdict (and a checked password or token) is reused before a "
        "cached model serves the same caller again: a revoked grant is refused within this "
        "time; 0 checks every time.",
        setting="permission_cache_seconds",
        parse=whole_number,
        default=30,
        maximum=60,
    ),
    Variable(
        "MAX_REQUEST_MB",
        REQUESTS,
        "The largest API request body (a `text/csv` predict included); 413 above.",
        setting="max_request_bytes",
        parse=whole_number,
        default=50,
        scale=MB,
    ),
    Variable(
        "UPLOAD_LIMIT_MB",
        REQUESTS,
        "The largest file `POST /api/uploads` accepts (the CSV tab uploads through it); 413 above.",
        setting="upload_limit_bytes",
        parse=whole_number,
        default=1024,
        at_least=1,
        scale=MB,
    ),
    Variable(
        "PREDICT_CHUNK_ROWS",
        REQUESTS,
        "Rows per `predict` call when a file or a big batch is scored in chunks.",
        setting="predict_chunk_rows",
        parse=whole_number,
        default=100_000,
    ),
    Variable(
        "BATCH_WINDOW_MS",
        REQUESTS,
        "Adaptive batching: while requests for one model version overlap, the first waits "
        "up to this long for others and predicts them in one call (each caller still gets "
        "its own rows, errors and audit record); 0 turns batching off.",
        setting="batch_window_ms",
        parse=whole_number,
        default=2,
        minimum=0,
    ),
    Variable(
        "BATCH_MAX_ROWS",
        REQUESTS,
        "The most rows one batched call takes; a bigger request is predicted alone.",
        setting="batch_max_rows",
        parse=whole_number,
        default=256,
        minimum=0,
    ),
    Variable(
        "HISTORY_SIZE",
        REQUESTS,
        "JSON and form runs kept for each person in Prediction History, on the server.",
        setting="history_size",
        parse=whole_number,
        default=50,
        minimum=1,
        maximum=500,
    ),
    Variable(
        "JOBS_PER_USER",
        JOBS,
        "Jobs of every kind one person may have queued or running; one more is refused at "
        "once (429 `TOO_MANY_JOBS`), before anything starts.",
        setting="jobs_per_user",
        parse=whole_number,
        default=2,
        minimum=1,
    ),
    Variable(
        "INLINE_JOB_KB",
        JOBS,
        "An upload up to this size is scored in a thread of the web process that took it; "
        "a bigger one in a process of its own (0: always a process of its own).",
        setting="inline_job_bytes",
        parse=whole_number,
        default=2048,
        minimum=0,
        scale=1024,
    ),
    Variable(
        "JOB_LOST_SECONDS",
        JOBS,
        "A running job whose heartbeat has stopped this long is failed (`JOB_LOST`): the "
        "process running it ended.",
        setting="job_lost_seconds",
        parse=whole_number,
        default=30,
        minimum=2,
    ),
    Variable(
        "REDIS_URL",
        JOBS,
        "Jobs go through this Redis to Celery workers (`celery -A app:celery_app worker`) "
        "instead of running on the web server.",
        setting="redis_url",
        default="",
        shown_default="none: jobs run on the web server",
    ),
    Variable(
        "JOB_SECRET_KEY",
        JOBS,
        "Encrypts the caller handed to a job (32 characters or more). Set it when workers "
        "run where `$APP_DATA_DIR/job-secret` is not shared.",
        setting="job_secret",
        default="",
        shown_default="generated once in `$APP_DATA_DIR/job-secret`",
    ),
    APP_AUTH_MODE,
    DATABRICKS_APP_NAME,
    Variable(
        "DATABRICKS_HOST",
        ACCESS,
        "The workspace (`https://` added if missing) that mode `databricks` asks whom a "
        "forwarded token belongs to.",
        setting="databricks_host",
        parse=workspace_url,
        shown_default="set by Databricks Apps",
    ),
    Variable(
        "ALLOWED_HOSTS",
        ACCESS,
        "Comma-separated host names requests may be addressed to (`*`: any), against DNS "
        "rebinding; others get 400 `HOST_NOT_ALLOWED`.",
        setting="allowed_hosts",
        default="",
        shown_default="loopback names in mode `none`; any otherwise",
    ),
    Variable(
        "FRAME_ANCESTORS",
        ACCESS,
        "The Content-Security-Policy `frame-ancestors`: who may show the console in a "
        "frame (a Databricks workspace: its URL).",
        setting="frame_ancestors",
        default="'self'",
    ),
    Variable(
        "SPARK_REMOTE",
        SPARK,
        "A Spark Connect URL (`sc://host:15002`) or `databricks`: table jobs run on Spark.",
        setting="spark_remote",
        default="",
        shown_default="none: no Spark",
    ),
    Variable(
        "SPARK_ALLOWED_LOCATIONS",
        SPARK,
        "Comma-separated prefixes of paths, URIs and `table:` names that table jobs may read "
        "and write, besides each person's own files.",
        setting="spark_allowed_locations",
        parse=name_list,
        default=(),
        shown_default="none: only each person's own files",
    ),
    Variable(
        "SPARK_DOWNLOAD_MAX_MB",
        SPARK,
        "The largest Spark result kept as one downloadable file in the person's own area.",
        setting="spark_download_max_bytes",
        parse=whole_number,
        default=1024,
        scale=MB,
    ),
    Variable(
        "METRICS_ENABLED",
        METRICS,
        "Whether `/metrics` answers (else 404). Metrics name every model and its traffic, "
        "whoever asked: in a shared mode only a scraper holding `METRICS_TOKEN` reads them.",
        setting="metrics_enabled",
        parse=yes_no,
        default=False,
        shown_default="`false`",
    ),
    Variable(
        "METRICS_ALLOWED",
        METRICS,
        "Comma-separated addresses or networks (`127.0.0.1,10.0.0.0/8`) a scrape may come "
        "from, as the console sees the client (behind a proxy, the proxy); others get 403.",
        setting="metrics_allowed",
        parse=networks,
        default=(),
        shown_default="any address",
    ),
    Variable(
        "METRICS_TOKEN",
        METRICS,
        "A secret every scrape must send as header `X-Metrics-Token` (403 without); "
        "required (else it does not start) when metrics are on in mode `mlflow-basic` or "
        "`databricks`.",
        setting="metrics_token",
        default="",
        shown_default="none",
    ),
    PROMETHEUS_MULTIPROC_DIR,
    Variable(
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        MLFLOW,
        "How often MLflow's client retries a failed request to the registry.",
        parse=whole_number,
        default=1,
        read_by="MLflow",
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
        MLFLOW,
        "The back-off between those retries, in seconds (growing with each retry).",
        parse=whole_number,
        default=1,
        read_by="MLflow",
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        MLFLOW,
        "Seconds MLflow's client waits for one answer from the registry.",
        parse=whole_number,
        default=30,
        read_by="MLflow",
    ),
)


# MLflow reads these itself; the console sets them when they are unset (see GROUPS[MLFLOW]).
MLFLOW_HTTP_DEFAULTS: dict[str, str] = {
    v.name: str(v.default) for v in VARIABLES if v.group == MLFLOW
}


@dataclass(frozen=True)
class Settings:
    """What ``from_env`` read; the defaults, bounds and meanings are in ``VARIABLES``."""

    app_data_dir: Path
    tracking_uri: str
    registry_uri: str
    embedded_registry: bool  # no MLFLOW_TRACKING_URI: the console's own, seeded registry
    default_model: str | None
    default_version: str | None
    model_cache_size: int
    alias_cache_seconds: int
    metadata_cache_seconds: int
    auth_mode: str
    permission_cache_seconds: int
    audit_db_url: str
    databricks_host: str | None
    max_request_bytes: int
    upload_limit_bytes: int
    files_max_age_seconds: int
    predict_chunk_rows: int
    redis_url: str = field(repr=False)  # may hold a password
    job_lost_seconds: int
    inline_job_bytes: int
    job_secret: str = field(repr=False)
    history_size: int
    user_quota_bytes: int
    jobs_per_user: int
    allowed_hosts: str
    frame_ancestors: str
    model_allow: tuple[str, ...]  # name patterns the console may load; () = any
    batch_window_ms: int
    batch_max_rows: int
    spark_remote: str  # a Spark Connect URL (sc://host:15002) or "databricks"; "" = off
    spark_allowed_locations: tuple[str, ...]  # prefixes users may read and write
    spark_download_max_bytes: int  # a Spark result in the user's area up to this
    metrics_enabled: bool
    metrics_allowed: tuple[IPv4Network | IPv6Network, ...]  # () lets any address scrape
    metrics_token: str = field(repr=False)

    @property
    def audit_url(self) -> str:
        return self.audit_db_url or f"sqlite:///{self.app_data_dir / 'audit.db'}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Every setting from the environment; ``overrides`` (field names) win."""
        values = read_settings(os.environ)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def read_settings(environ: Mapping[str, str]) -> dict[str, object]:
    """The values of every variable that is a setting, by field name, in declaration order
    (a default that follows another setting sees it)."""
    values: dict[str, object] = {"embedded_registry": not MLFLOW_TRACKING_URI.text(environ)}
    for declared in VARIABLES:
        if declared.setting is not None:
            values[declared.setting] = declared.value(environ, values)
    return values


def auth_mode_from_env() -> str:
    """APP_AUTH_MODE, else ``databricks`` inside Databricks Apps, else ``none``."""
    return str(APP_AUTH_MODE.value())


def embedded_tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'registry.db'}"


def embedded_artifact_root(data_dir: Path) -> Path:
    return data_dir / "artifacts"


def configuration_markdown() -> str:
    """docs/configuration.md: every variable of ``VARIABLES``, by group."""
    lines = [
        f"<!-- Written by `{REGENERATE}` from services/settings.py: change the",
        "     declarations there and run it again; a test fails while the two differ. -->",
        "",
        "# Configuration",
        "",
        "The console reads these environment variables once, when it starts: from the shell",
        "(`PORT=9000 scripts/run.sh`), from `app.yaml`'s `env` entries in Databricks Apps, and",
        "the same in each Celery worker. A value it cannot use stops the start with one line",
        "that names the variable and the fix (see [deploy.md](deploy.md#when-it-does-not-start)).",
        "",
        "**Bounds**: a value outside a range is taken as the nearest end of it (`HISTORY_SIZE=0`",
        'is 1); a value below a bound marked "else it does not start" stops the start.',
    ]
    for group, introduction in GROUPS.items():
        lines += ["", f"## {group}", ""]
        if introduction:
            lines += [introduction, ""]
        lines += ["| variable | default | bounds | meaning |", "|---|---|---|---|"]
        for declared in VARIABLES:
            if declared.group == group:
                lines.append(_row(declared))
    return "\n".join(lines) + "\n"


def _row(declared: Variable) -> str:
    meaning = declared.meaning
    if declared.read_by:
        meaning += f" Read by {declared.read_by}."
    cells = [f"`{declared.name}`", _shown_default(declared), _shown_bounds(declared), meaning]
    return "| " + " | ".join(cells) + " |"


def _shown_default(declared: Variable) -> str:
    if declared.shown_default:
        return declared.shown_default
    if declared.default in (None, "", ()):
        return "none"
    return f"`{declared.default}`"


def _shown_bounds(declared: Variable) -> str:
    low, high = declared.minimum, declared.maximum
    parts = []
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    elif low is not None:
        parts.append(f"at least {low}")
    elif high is not None:
        parts.append(f"at most {high}")
    if declared.at_least is not None:
        parts.append(f"at least {declared.at_least}, else it does not start")
    if declared.choices:
        parts.append(", ".join(f"`{choice}`" for choice in declared.choices))
    return "; ".join(parts)


def main() -> None:
    """Write docs/configuration.md from ``VARIABLES``."""
    CONFIGURATION_DOC.write_text(configuration_markdown())
    print(f"Wrote {CONFIGURATION_DOC.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
