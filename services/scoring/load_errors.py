"""Why a model cannot load (or stops while predicting), in words that say what to do.

The most common way a real deployment fails is a model whose flavour package is not in the
app's environment: an XGBoost model in an app whose requirements.txt lacks ``xgboost``. The
error names the missing module, the requirement line the model was logged with and the fix
for each way the console runs. Other load failures (files that do not read, a model logged by
a newer MLflow) get their own words.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from services.errors import (
    ConsoleError,
    ModelCannotLoad,
    ModelDependencyMissing,
    ModelFilesUnreadable,
    ModelNeedsNewerMlflow,
)
from services.registry.dependencies import (
    LoggedEnvironment,
    ModelEnvironment,
    State,
    check_environment,
    package_of,
    read_logged_environment,
)
from services.registry.types import ResolvedVersion

MAX_DETAIL = 200
# Errors that mean the bytes themselves are wrong, whatever the flavour.
UNREADABLE = (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, json.JSONDecodeError)
UNREADABLE_NAMES = {"XGBoostError", "LightGBMError", "CatBoostError", "DecodeError"}
# A path on the server (never sent in an answer): two or more segments.
SERVER_PATH = re.compile(r"""(?:[A-Za-z]:)?[/\\][^\s'"]*[/\\][^\s'",)]*""")


def folder_environment(folder: Path) -> LoggedEnvironment:
    """The logged environment of a model folder already on disk."""
    from mlflow.models import Model

    def read(name: str) -> str | None:
        path = folder / name
        return path.read_text() if path.is_file() else None

    try:
        mlmodel = Model.load(folder / "MLmodel")
    except Exception:  # the MLmodel file is itself what failed: read what else is there
        mlmodel = None
    return read_logged_environment(read, mlmodel)


def load_failure(
    resolved: ResolvedVersion, exc: BaseException, logged: LoggedEnvironment
) -> ConsoleError:
    """The error for ``exc`` raised while loading ``resolved``."""
    which = f"{resolved.name} version {resolved.version}"
    environment = check_environment(logged)
    newer = _newer_mlflow(logged)
    if newer is not None:
        return _needs_newer_mlflow(which, newer, exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return dependency_missing(which, exc.name, environment, "loading")
    if isinstance(exc, UNREADABLE) or type(exc).__name__ in UNREADABLE_NAMES:
        return ModelFilesUnreadable(
            f"The files of {which} cannot be read ({_detail(exc)}): they are damaged or not "
            "what the model's description says.",
            hint="Ask the model's owner to log and register it again.",
        )
    return ModelCannotLoad(
        f"{which} could not be loaded ({_detail(exc)}).{_mismatches(environment)}",
        hint="Install the versions the model was logged with (Model Configuration lists "
        "them), or ask the model's owner; other models are not affected.",
    )


def dependency_missing(
    which: str, module: str, environment: ModelEnvironment, while_: str
) -> ModelDependencyMissing:
    """``module`` is not installed; the requirement line the model was logged with (if it
    lists one) and how to add it in each way the console runs."""
    requirement = environment.for_module(module)
    line = requirement.line if requirement is not None else package_of(module)
    logged = (
        f"The model was logged with {line}."
        if requirement is not None
        else "The model's requirements do not list it; its package is probably "
        f"{package_of(module)} (ask the model's owner to log the model with it)."
    )
    return ModelDependencyMissing(
        f"{which} needs the Python module {module}, which is not installed here "
        f"(found while {while_}). {logged}",
        hint=f"Databricks App: add the line {line} to the app's requirements.txt and "
        f"deploy again. Running python app.py: pip install '{line}' in the app's "
        "environment, then restart it. Other models keep working meanwhile.",
        module=module.split(".")[0],
        requirement=requirement.line if requirement is not None else None,
    )


def _newer_mlflow(logged: LoggedEnvironment) -> str | None:
    """The model's MLflow version, when it is newer (major.minor) than the one here."""
    import mlflow

    if not logged.mlflow_version:
        return None
    try:
        theirs, ours = Version(logged.mlflow_version), Version(mlflow.__version__)
    except InvalidVersion:
        return None
    return logged.mlflow_version if theirs.release[:2] > ours.release[:2] else None


def _needs_newer_mlflow(which: str, version: str, exc: BaseException) -> ModelNeedsNewerMlflow:
    import mlflow

    return ModelNeedsNewerMlflow(
        f"{which} was logged with MLflow {version}; this console runs MLflow "
        f"{mlflow.__version__}, which cannot load it ({_detail(exc)}).",
        hint=f"Upgrade the console's mlflow to {version} (requirements.txt: mlflow=={version}), "
        "or ask the model's owner to log it with the MLflow the console runs.",
    )


def _mismatches(environment: ModelEnvironment) -> str:
    """The requirements this process does not meet, as a sentence ("" when none)."""
    problems = [
        f"{r.line} (here: {r.installed or 'not installed'})"
        for r in environment.problems
        if r.state in (State.MISSING, State.OTHER_VERSION)
    ]
    if not problems:
        return ""
    return " It was logged with " + ", ".join(problems) + "."


def _detail(exc: BaseException) -> str:
    """The exception's type and first line, without any server path in it."""
    text = str(exc).strip()
    first = SERVER_PATH.sub("<file>", text.splitlines()[0]) if text else ""
    return f"{type(exc).__name__}: {first}"[:MAX_DETAIL] if first else type(exc).__name__
