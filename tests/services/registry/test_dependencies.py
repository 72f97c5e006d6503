"""A model's logged environment read from its files and checked against this process."""

from __future__ import annotations

import platform

import pytest

from services.compat import mlflow_mismatch_text
from services.registry.dependencies import (
    LoggedEnvironment,
    State,
    check_environment,
    check_requirement,
    read_logged_environment,
    requirement_lines,
)

CONDA = """
name: mlflow-env
channels: [conda-forge]
dependencies:
  - python=3.10.14
  - pip<=24.0
  - pip:
    - mlflow==3.17.2
    - xgboost==3.4.1
"""


def files(**texts: str):
    return lambda name: texts.get(name.replace(".", "_"))


def test_requirements_txt_comes_first_and_reads_like_pip():
    text = "# pinned\nmlflow==3.17.2\n--extra-index-url https://x\nscikit-learn \\\n  ==1.9.1\n\n"
    read = files(requirements_txt=text, conda_yaml=CONDA)
    logged = read_logged_environment(read)
    assert logged.requirements == ["mlflow==3.17.2", "scikit-learn ==1.9.1"]
    assert (logged.source, logged.python) == ("requirements.txt", "3.10.14")


def test_without_requirements_txt_the_pip_section_of_conda_yaml():
    logged = read_logged_environment(files(conda_yaml=CONDA))
    assert logged.requirements == ["mlflow==3.17.2", "xgboost==3.4.1"]
    assert (logged.source, logged.python) == ("conda.yaml", "3.10.14")


def test_python_from_python_env_yaml_and_nothing_at_all():
    logged = read_logged_environment(files(python_env_yaml="python: 3.11.7\n"))
    assert (logged.python, logged.requirements, logged.source) == ("3.11.7", [], None)
    assert read_logged_environment(files()) == LoggedEnvironment()


@pytest.mark.parametrize(
    ("line", "state"),
    [
        ("numpy", State.INSTALLED),
        ("console-absent-pkg==1.2.3", State.MISSING),
        ("numpy==0.0.1", State.OTHER_VERSION),
        ("numpy>=1,<99", State.INSTALLED),
        ("git+https://example.com/pkg.git", State.NOT_CHECKED),
        ('pywin32==306; sys_platform == "win32"', State.NOT_CHECKED),
    ],
)
def test_each_state_and_mlflows_own_verdict(line, state):
    """The console's verdict is MLflow's: a problem exactly where MLflow warns."""
    checked = check_requirement(line)
    assert checked.state is state
    if state in (State.MISSING, State.OTHER_VERSION):
        assert checked.note == mlflow_mismatch_text(line)
    elif state is State.INSTALLED:
        assert mlflow_mismatch_text(line) is None


def test_python_versions_compared_by_major_and_minor():
    here = platform.python_version()
    same = check_environment(LoggedEnvironment(python=here.rsplit(".", 1)[0] + ".0"))
    assert same.python_note is None
    other = check_environment(LoggedEnvironment(python="2.7.18"))
    assert other.python_note.startswith("The version of Python that the model was saved in")


def test_the_requirement_of_a_missing_module():
    environment = check_environment(
        LoggedEnvironment(["scikit-learn==1.0", "sentence-transformers==5.0", "xgboost==3.4.1"])
    )
    assert environment.for_module("sklearn.tree").line == "scikit-learn==1.0"
    assert environment.for_module("sentence_transformers").line == "sentence-transformers==5.0"
    assert environment.for_module("xgboost.core").line == "xgboost==3.4.1"
    assert environment.for_module("torch") is None


def test_requirement_lines_leave_out_options():
    assert requirement_lines("-r other.txt\n-c c.txt\npandas # why\n") == ["pandas"]
