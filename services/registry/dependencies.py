"""A model version's own environment, as it was logged, checked against this process.

MLflow writes the pip requirements a model was logged with beside its files. They are read
here the way ``mlflow.pyfunc.get_model_dependencies`` reads them: ``requirements.txt`` first,
else the ``pip`` section of ``conda.yaml``; the Python version from the MLmodel's
``python_function`` flavour, else ``python_env.yaml``, else ``conda.yaml``. Each requirement is
then compared with what is installed here, by distribution metadata only: nothing the model
names is imported to find its version (MLflow falls back to importing it; a view of a model's
details must not run a package's import-time code).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from importlib import metadata
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from services.compat import mlflow_mismatch_text

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"
# Modules whose package has another name (the usual ones a model imports); any other module
# is looked for under its own name.
PACKAGE_OF_MODULE = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "skimage": "scikit-image",
    "google": "protobuf",
    "sentence_transformers": "sentence-transformers",
    "Bio": "biopython",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "bs4": "beautifulsoup4",
}


class State(StrEnum):
    INSTALLED = "installed"  # satisfies the line: the same version, for a pinned one
    OTHER_VERSION = "other version"
    MISSING = "missing"
    NOT_CHECKED = "not checked"  # a URL, a path, or a line for another platform


@dataclass(frozen=True)
class LoggedEnvironment:
    """What a model's files say it was logged with (plain text, the same for every process)."""

    requirements: list[str] = field(default_factory=list)
    source: str | None = None  # the file the requirements came from; None: none found
    python: str | None = None
    mlflow_version: str | None = None


@dataclass(frozen=True)
class RequirementCheck:
    line: str  # as logged: xgboost==3.2.0
    package: str
    state: State
    installed: str | None = None
    note: str | None = None  # MLflow's own words for a mismatch, or why it is not checked

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state.value}


@dataclass(frozen=True)
class ModelEnvironment:
    """The logged environment beside this process's: each requirement's state, Python's."""

    requirements: list[RequirementCheck]
    source: str | None
    python: str | None
    python_here: str
    python_note: str | None = None

    @property
    def problems(self) -> list[RequirementCheck]:
        return [r for r in self.requirements if r.state in (State.MISSING, State.OTHER_VERSION)]

    def for_module(self, module: str) -> RequirementCheck | None:
        """The requirement that provides ``module`` (``xgboost.core`` → ``xgboost==3.2.0``)."""
        wanted = canonicalize_name(package_of(module))
        return next((r for r in self.requirements if canonicalize_name(r.package) == wanted), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "python": self.python,
            "python_here": self.python_here,
            "python_note": self.python_note,
            "requirements": [r.to_dict() for r in self.requirements],
        }


def package_of(module: str) -> str:
    """The package a module usually comes from (its top-level name, or a known other name)."""
    top = module.split(".")[0]
    return PACKAGE_OF_MODULE.get(top, top.replace("_", "-"))


def read_logged_environment(
    read: Callable[[str], str | None], mlmodel: Any | None = None
) -> LoggedEnvironment:
    """The environment from a model's files: ``read(name)`` gives a file's text (None: no such
    file); ``mlmodel`` is its ``mlflow.models.Model``, when already read."""
    flavor = (getattr(mlmodel, "flavors", None) or {}).get("python_function") or {}
    python = _text(flavor.get("python_version"))
    mlflow_version = _text(getattr(mlmodel, "mlflow_version", None))
    requirements_text = read(REQUIREMENTS_FILE)
    conda = None
    if requirements_text is None or python is None:
        conda = _yaml(read(CONDA_FILE))
    if python is None:
        python = _text((_yaml(read(PYTHON_ENV_FILE)) or {}).get("python")) or _conda_python(conda)
    if requirements_text is not None:
        return LoggedEnvironment(
            requirement_lines(requirements_text), REQUIREMENTS_FILE, python, mlflow_version
        )
    pip = _conda_pip(conda)
    source = CONDA_FILE if pip is not None else None
    return LoggedEnvironment(pip or [], source, python, mlflow_version)


def requirement_lines(text: str) -> list[str]:
    """The requirement lines of a requirements file: comments, blank lines and pip options
    (``--extra-index-url``, ``-r``) left out, continued lines joined."""
    joined = text.replace("\\\n", "")
    lines = (" ".join(line.split(" #", 1)[0].split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _yaml(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _conda_python(conda: dict[str, Any] | None) -> str | None:
    for dependency in (conda or {}).get("dependencies") or []:
        if isinstance(dependency, str) and dependency.replace(" ", "").startswith("python="):
            return dependency.split("=", 1)[1].strip()
    return None


def _conda_pip(conda: dict[str, Any] | None) -> list[str] | None:
    for dependency in (conda or {}).get("dependencies") or []:
        if isinstance(dependency, dict) and isinstance(dependency.get("pip"), list):
            return [str(line) for line in dependency["pip"] if not str(line).startswith("-")]
    return None


def check_environment(logged: LoggedEnvironment) -> ModelEnvironment:
    """Each logged requirement beside what is installed in this process."""
    here = platform.python_version()
    return ModelEnvironment(
        requirements=[check_requirement(line) for line in logged.requirements],
        source=logged.source,
        python=logged.python,
        python_here=here,
        python_note=_python_note(logged.python, here),
    )


def check_requirement(line: str) -> RequirementCheck:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return RequirementCheck(line, line, State.NOT_CHECKED, note="not a package name")
    package = requirement.name
    if requirement.marker is not None and not requirement.marker.evaluate():
        return RequirementCheck(line, package, State.NOT_CHECKED, note="not for this platform")
    try:
        installed = metadata.version(package)
    except metadata.PackageNotFoundError:
        return RequirementCheck(line, package, State.MISSING, note=mlflow_mismatch_text(line))
    if _satisfies(requirement, installed):
        return RequirementCheck(line, package, State.INSTALLED, installed)
    return RequirementCheck(
        line, package, State.OTHER_VERSION, installed, note=mlflow_mismatch_text(line)
    )


def _satisfies(requirement: Requirement, installed: str) -> bool:
    """MLflow's rule (``_check_requirement_satisfied``): no specifier is satisfied by any
    version; otherwise the installed version must be one the specifier contains."""
    if not requirement.specifier:
        return True
    try:
        return requirement.specifier.contains(Version(installed))
    except InvalidVersion:
        return False


def _python_note(logged: str | None, here: str) -> str | None:
    """MLflow's warning when the major or minor version differs (its words, from
    ``mlflow.pyfunc._warn_potentially_incompatible_py_version_if_necessary``)."""
    if logged is None:
        return "The model does not say which Python it was logged with."
    if logged.split(".")[:2] == here.split(".")[:2]:
        return None
    return (
        f"The version of Python that the model was saved in, `Python {logged}`, differs from "
        f"the version of Python that is currently running, `Python {here}`, and may be "
        "incompatible"
    )
