"""Settings read once from the environment, as plain data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Preselected on the embedded registry when MODEL_NAME is not set, so a first visit shows a model.
DEMO_MODEL = "main.ml_models.iris_classifier"
DEMO_REF = "Champion"


class ConfigurationError(Exception):
    """A deployment mistake the operator must fix before the console can start: one line
    that names the setting (variable, path or package) and what to do."""


def int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        message = f"{name}={raw!r} is not a whole number; unset it or fix it."
        raise ConfigurationError(message) from None


@dataclass(frozen=True)
class Settings:
    app_data_dir: Path
    tracking_uri: str
    registry_uri: str
    embedded_registry: bool
    default_model: str | None
    default_version: str | None
    model_cache_size: int = 8
    alias_cache_seconds: int = 5
    metadata_cache_seconds: int = 30
    auth_mode: str = "none"
    permission_cache_seconds: int = 30
    audit_db_url: str = ""
    databricks_host: str | None = None
    max_request_bytes: int = 50 * 1024 * 1024
    upload_limit_bytes: int = 1024 * 1024 * 1024
    files_max_age_seconds: int = 24 * 3600
    predict_chunk_rows: int = 100_000
    redis_url: str = field(default="", repr=False)  # may hold a password
    job_lost_seconds: int = 30
    inline_job_bytes: int = 2 * 1024 * 1024
    job_secret: str = field(default="", repr=False)
    history_size: int = 50
    user_quota_bytes: int = 10 * 1024**3
    jobs_per_user: int = 2
    allowed_hosts: str = ""
    frame_ancestors: str = "'self'"
    model_allow: tuple[str, ...] = ()  # name patterns the console may load; () = any
    batch_window_ms: int = 2
    batch_max_rows: int = 256
    spark_remote: str = ""  # a Spark Connect URL (sc://host:15002) or "databricks"; "" = off
    spark_allowed_locations: tuple[str, ...] = ()  # prefixes users may read and write
    spark_download_max_bytes: int = 1024**3  # a Spark result in the user's area up to this

    @property
    def audit_url(self) -> str:
        return self.audit_db_url or f"sqlite:///{self.app_data_dir / 'audit.db'}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        data_dir = Path(os.environ.get("APP_DATA_DIR") or PROJECT_ROOT / ".app-data").resolve()
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
        embedded = not tracking_uri
        if embedded:
            tracking_uri = embedded_tracking_uri(data_dir)
        values: dict[str, object] = {
            "auth_mode": auth_mode_from_env(),
            "permission_cache_seconds": min(int_env("PERMISSION_CACHE_SECONDS", 30), 60),
            "audit_db_url": os.environ.get("AUDIT_DB_URL", "").strip(),
            "databricks_host": _databricks_host(),
            "app_data_dir": data_dir,
            "tracking_uri": tracking_uri,
            "registry_uri": os.environ.get("MLFLOW_REGISTRY_URI", "").strip() or tracking_uri,
            "embedded_registry": embedded,
            "default_model": os.environ.get("MODEL_NAME") or (DEMO_MODEL if embedded else None),
            "default_version": os.environ.get("MODEL_VERSION") or (DEMO_REF if embedded else None),
            "model_cache_size": int_env("MODEL_CACHE_SIZE", 8),
            "alias_cache_seconds": int_env("ALIAS_CACHE_SECONDS", 5),
            "metadata_cache_seconds": int_env("METADATA_CACHE_SECONDS", 30),
            "max_request_bytes": int_env("MAX_REQUEST_MB", 50) * 1024 * 1024,
            "upload_limit_bytes": int_env("UPLOAD_LIMIT_MB", 1024) * 1024 * 1024,
            "files_max_age_seconds": int_env("FILES_MAX_AGE_HOURS", 24) * 3600,
            "predict_chunk_rows": int_env("PREDICT_CHUNK_ROWS", 100_000),
            "redis_url": os.environ.get("REDIS_URL", "").strip(),
            "job_lost_seconds": max(int_env("JOB_LOST_SECONDS", 30), 2),
            "inline_job_bytes": max(int_env("INLINE_JOB_KB", 2048), 0) * 1024,
            "job_secret": os.environ.get("JOB_SECRET_KEY", "").strip(),
            "history_size": min(max(int_env("HISTORY_SIZE", 50), 1), 500),
            "user_quota_bytes": int_env("USER_QUOTA_MB", 10 * 1024) * 1024 * 1024,
            "jobs_per_user": max(int_env("JOBS_PER_USER", 2), 1),
            "allowed_hosts": os.environ.get("ALLOWED_HOSTS", "").strip(),
            "frame_ancestors": os.environ.get("FRAME_ANCESTORS", "").strip() or "'self'",
            "model_allow": _patterns(os.environ.get("MODEL_ALLOW", "")),
            "batch_window_ms": max(int_env("BATCH_WINDOW_MS", 2), 0),
            "batch_max_rows": max(int_env("BATCH_MAX_ROWS", 256), 0),
            "spark_remote": os.environ.get("SPARK_REMOTE", "").strip(),
            "spark_allowed_locations": _patterns(os.environ.get("SPARK_ALLOWED_LOCATIONS", "")),
            "spark_download_max_bytes": int_env("SPARK_DOWNLOAD_MAX_MB", 1024) * 1024 * 1024,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _patterns(raw: str) -> tuple[str, ...]:
    return tuple(pattern.strip() for pattern in raw.split(",") if pattern.strip())


def auth_mode_from_env() -> str:
    """APP_AUTH_MODE, else ``databricks`` inside Databricks Apps, else ``none``."""
    explicit = os.environ.get("APP_AUTH_MODE", "").strip().lower()
    if explicit:
        return explicit
    return "databricks" if os.environ.get("DATABRICKS_APP_NAME") else "none"


def _databricks_host() -> str | None:
    host = os.environ.get("DATABRICKS_HOST", "").strip().rstrip("/")
    if host and not host.startswith("http"):
        host = f"https://{host}"
    return host or None


def embedded_tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'registry.db'}"


def embedded_artifact_root(data_dir: Path) -> Path:
    return data_dir / "artifacts"
