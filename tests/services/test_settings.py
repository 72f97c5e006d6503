"""What an operator sets is what the console uses: bounds, units and one-line refusals, and
docs/configuration.md says the same as the code."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from services.settings import (
    CONFIGURATION_DOC,
    REGENERATE,
    VARIABLES,
    ConfigurationError,
    Settings,
    configuration_markdown,
)
from tests.processes import PROJECT, clean_environment

MB = 1024 * 1024


@pytest.fixture
def environ(monkeypatch):
    """No deployment variable from this process's environment: only what a test sets."""
    for declared in VARIABLES:
        monkeypatch.delenv(declared.name, raising=False)
    return monkeypatch


def test_configuration_doc_is_what_the_code_declares():
    written = CONFIGURATION_DOC.read_text() if CONFIGURATION_DOC.exists() else ""
    assert written == configuration_markdown(), (
        f"docs/configuration.md differs from services/settings.py: run `{REGENERATE}` "
        "and commit the file."
    )


def test_every_variable_is_in_the_doc_with_its_default():
    doc = configuration_markdown()
    for name, default in [
        ("PERMISSION_CACHE_SECONDS", "| `30` | at most 60 |"),
        ("HISTORY_SIZE", "| `50` | 1 to 500 |"),
        ("WEB_CONCURRENCY", "| `2` |"),
        ("FILES_MAX_AGE_HOURS", "| `24` | at least 1, else it does not start |"),
    ]:
        assert f"| `{name}` {default}" in doc
    assert all(f"| `{declared.name}` |" in doc for declared in VARIABLES)


def test_values_outside_their_bounds_are_taken_as_the_nearest_bound(environ):
    for name, value in [
        ("PERMISSION_CACHE_SECONDS", "600"),
        ("HISTORY_SIZE", "0"),
        ("JOB_LOST_SECONDS", "0"),
        ("INLINE_JOB_KB", "-5"),
        ("JOBS_PER_USER", "0"),
    ]:
        environ.setenv(name, value)
    settings = Settings.from_env()
    assert settings.permission_cache_seconds == 60
    assert settings.history_size == 1
    assert settings.job_lost_seconds == 2
    assert settings.inline_job_bytes == 0
    assert settings.jobs_per_user == 1
    environ.setenv("HISTORY_SIZE", "9999")
    assert Settings.from_env().history_size == 500


def test_units_are_converted(environ):
    for name, value in [
        ("UPLOAD_LIMIT_MB", "3"),
        ("MAX_REQUEST_MB", " 7 "),
        ("FILES_MAX_AGE_HOURS", "2"),
        ("INLINE_JOB_KB", "16"),
    ]:
        environ.setenv(name, value)
    settings = Settings.from_env()
    assert settings.upload_limit_bytes == 3 * MB
    assert settings.max_request_bytes == 7 * MB
    assert settings.files_max_age_seconds == 2 * 3600
    assert settings.inline_job_bytes == 16 * 1024


def test_defaults_that_follow_other_settings(environ, tmp_path):
    environ.setenv("APP_DATA_DIR", str(tmp_path))
    embedded = Settings.from_env()
    assert embedded.embedded_registry
    assert embedded.tracking_uri == embedded.registry_uri == f"sqlite:///{tmp_path}/registry.db"
    assert (embedded.default_model, embedded.default_version) == (
        "main.ml_models.iris_classifier",
        "Champion",
    )
    assert embedded.auth_mode == "none"
    assert embedded.audit_url == f"sqlite:///{tmp_path}/audit.db"

    environ.setenv("MLFLOW_TRACKING_URI", "databricks")
    environ.setenv("DATABRICKS_APP_NAME", "model-console")
    environ.setenv("DATABRICKS_HOST", "adb-1.azuredatabricks.net/")
    workspace = Settings.from_env()
    assert not workspace.embedded_registry
    assert workspace.registry_uri == "databricks"
    assert workspace.default_model is None
    assert workspace.auth_mode == "databricks"
    assert workspace.databricks_host == "https://adb-1.azuredatabricks.net"


def test_a_value_the_console_cannot_use_is_named_in_one_line(environ):
    environ.setenv("MODEL_CACHE_SIZE", "many")
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env()
    assert (
        str(refused.value) == "MODEL_CACHE_SIZE='many' is not a whole number; unset it or fix it."
    )
    environ.delenv("MODEL_CACHE_SIZE")
    environ.setenv("USER_QUOTA_MB", "0")
    with pytest.raises(ConfigurationError, match="USER_QUOTA_MB must be at least 1"):
        Settings.from_env()


def test_overrides_win_and_settings_stay_frozen(environ, tmp_path):
    environ.setenv("HISTORY_SIZE", "20")
    settings = Settings.from_env(app_data_dir=tmp_path, history_size=7)
    assert (settings.app_data_dir, settings.history_size) == (tmp_path, 7)
    assert dataclasses.replace(settings, jobs_per_user=5).jobs_per_user == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.history_size = 3  # type: ignore[misc]


def test_each_setting_is_declared_by_exactly_one_variable():
    declared = [v.setting for v in VARIABLES if v.setting is not None]
    assert len(declared) == len(set(declared))
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert fields == {*declared, "embedded_registry"}  # the one setting no variable names


def test_gunicorn_config_imports_nothing_heavy(tmp_path):
    """gunicorn's master reads gunicorn.conf.py before forking: Dash, MLflow and pandas
    there would be copied into every worker and slow the start."""
    probe = (
        "import runpy, sys; runpy.run_path('gunicorn.conf.py'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'dash', 'flask', 'mlflow', 'pandas', 'numpy', 'sklearn'}))"
    )
    env = clean_environment(WEB_CONCURRENCY=3, GUNICORN_THREADS=4, HOME=tmp_path)
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
