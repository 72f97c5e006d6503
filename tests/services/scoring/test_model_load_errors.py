"""A model that cannot load says why: a module it needs (loading or predicting), files that do
not read, a newer MLflow. Real models on a real registry; the missing module really is not
installed (``console_absent_pkg``), and the damaged files really are damaged."""

from __future__ import annotations

import platform
from pathlib import Path

import mlflow
import pytest
import yaml

from app import create_app
from services.registry.dependencies import State
from tests.code_models import fresh_registry, pinned, register_code_model, version_folder
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

ECHO = "test.load.echo"
NEEDS_AT_LOAD = "test.load.needs_absent"
NEEDS_AT_PREDICT = "test.load.needs_absent_later"
DAMAGED = "test.load.damaged"
NEWER_MLFLOW = "test.load.newer_mlflow"
ABSENT_LINE = "console-absent-pkg==1.2.3"

ECHO_CODE = """
import mlflow
class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] * 2
mlflow.models.set_model(Echo())
"""
NEEDS_AT_LOAD_CODE = """
import importlib
import mlflow
class Needs(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        importlib.import_module("console_absent_pkg")
    def predict(self, context, model_input, params=None):
        return model_input["x"]
mlflow.models.set_model(Needs())
"""
NEEDS_AT_PREDICT_CODE = """
import importlib
import mlflow
class NeedsLater(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        importlib.import_module("console_absent_pkg.tokenizers")
        return model_input["x"]
mlflow.models.set_model(NeedsLater())
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("load-errors")
    with_absent = [*pinned("mlflow", "pandas"), ABSENT_LINE]
    with fresh_registry(data_dir) as registry:
        register_code_model(registry, ECHO, ECHO_CODE)
        register_code_model(registry, NEEDS_AT_LOAD, NEEDS_AT_LOAD_CODE, requirements=with_absent)
        register_code_model(
            registry, NEEDS_AT_PREDICT, NEEDS_AT_PREDICT_CODE, requirements=with_absent
        )
        register_linear_model(registry, DAMAGED)
        damage(version_folder(registry, DAMAGED, "1"))
        register_code_model(registry, NEWER_MLFLOW, ECHO_CODE)
        from_the_future(version_folder(registry, NEWER_MLFLOW, "1"))
    return data_dir


def register_linear_model(registry, name: str) -> None:
    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"x": np.arange(10.0)})
    with mlflow.start_run(experiment_id=registry.experiment_id):
        info = mlflow.sklearn.log_model(
            LinearRegression().fit(frame, frame["x"] * 2),
            name="model",
            serialization_format="cloudpickle",
            pip_requirements=pinned("scikit-learn"),
        )
    registry.client.create_registered_model(name)
    registry.client.create_model_version(name, source=info.model_uri, run_id=info.run_id)


def damage(folder: Path) -> None:
    """The pickled model cut short, as an interrupted upload leaves it."""
    pickled = next(folder.rglob("*.pkl"))
    pickled.write_bytes(pickled.read_bytes()[:20])


def from_the_future(folder: Path) -> None:
    """What a model logged by a later MLflow with a flavour this one does not have looks
    like."""
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["mlflow_version"] = "99.1.0"
    mlmodel["flavors"]["python_function"]["loader_module"] = "mlflow.future_flavour"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))


@pytest.fixture(scope="module")
def app_client(data_dir: Path):
    return create_app(settings=settings_for(data_dir)).server.test_client()


def predict(client, name: str, payload=None):
    return client.post(f"/api/models/{name}/1/predict", json=payload or {"x": 2.0})


def test_a_missing_module_names_itself_its_requirement_and_the_fix(app_client):
    answer = predict(app_client, NEEDS_AT_LOAD)
    assert answer.status_code == 424
    body = answer.get_json()
    assert body["error_code"] == "MODEL_DEPENDENCY_MISSING"
    assert (body["missing_module"], body["requirement"]) == ("console_absent_pkg", ABSENT_LINE)
    assert "console_absent_pkg" in body["message"] and ABSENT_LINE in body["message"]
    assert f"add the line {ABSENT_LINE} to the app's requirements.txt" in body["hint"]
    assert f"pip install '{ABSENT_LINE}'" in body["hint"]
    assert "/" not in body["message"].replace("requirements.txt", "")  # no server path


def test_the_failure_is_remembered_and_other_models_keep_serving(data_dir):
    services_client = create_app(settings=settings_for(data_dir))
    client = services_client.server.test_client()
    assert predict(client, NEEDS_AT_LOAD).status_code == 424
    assert predict(client, ECHO).get_json()["predictions"] == [4.0]
    health = client.get("/api/health").get_json()["model_cache"]
    assert predict(client, NEEDS_AT_LOAD).status_code == 424
    # the second refusal did not try to load again
    assert client.get("/api/health").get_json()["model_cache"] == health


def test_a_failure_is_forgotten_after_its_time():
    import time

    from services.errors import ModelDependencyMissing
    from services.scoring.models import CacheKey, FailedLoads

    failures = FailedLoads(seconds=0.05)
    key = CacheKey("r", "m", "1")
    error = ModelDependencyMissing("m needs x", hint="h", module="x")
    failures.remember(key, error)
    with pytest.raises(ModelDependencyMissing):
        failures.raise_if_recent(key)
    time.sleep(0.06)
    failures.raise_if_recent(key)  # tried again
    assert len(failures) == 0


def test_a_module_missing_while_predicting_says_the_same(app_client):
    body = predict(app_client, NEEDS_AT_PREDICT).get_json()
    assert body["error_code"] == "MODEL_DEPENDENCY_MISSING"
    assert body["missing_module"] == "console_absent_pkg"
    assert body["requirement"] == ABSENT_LINE
    assert "while predicting" in body["message"]


def test_damaged_files_are_said_to_be_damaged(app_client):
    answer = predict(app_client, DAMAGED)
    assert answer.status_code == 424
    body = answer.get_json()
    assert body["error_code"] == "MODEL_FILES_UNREADABLE"
    assert "cannot be read" in body["message"] and "log and register it again" in body["hint"]


def test_a_model_from_a_newer_mlflow_says_which(app_client):
    body = predict(app_client, NEWER_MLFLOW).get_json()
    assert body["error_code"] == "MODEL_NEEDS_NEWER_MLFLOW"
    assert "MLflow 99.1.0" in body["message"] and mlflow.__version__ in body["message"]
    assert "mlflow==99.1.0" in body["hint"]


def test_version_detail_shows_the_environment(app_client):
    body = app_client.get(f"/api/models/{NEEDS_AT_LOAD}/1").get_json()
    environment = body["environment"]
    assert environment["source"] == "requirements.txt"
    assert environment["python"] == platform.python_version() == environment["python_here"]
    states = {r["package"]: r for r in environment["requirements"]}
    assert states["console-absent-pkg"]["state"] == State.MISSING
    assert states["console-absent-pkg"]["note"] == (
        f"console-absent-pkg (current: uninstalled, required: {ABSENT_LINE})"
    )
    assert states["mlflow"]["state"] == State.INSTALLED
    assert states["mlflow"]["installed"] == mlflow.__version__


def test_load_model_in_the_ui_shows_the_error_and_the_environment(data_dir):
    """Model Configuration's Load Model, called as Dash calls it after the click."""
    from cachelib import SimpleCache
    from dash import no_update
    from flask import g

    from callbacks.config_tab import ConfigCallbacks
    from layouts.ids import Config
    from services.access.caller import LOCAL_CALLER
    from services.wiring import build_services
    from tests.callbacks.test_tabs import text_of, triggered_by

    callbacks = ConfigCallbacks(build_services(settings_for(data_dir), SimpleCache()))
    flask_app = create_app(settings=settings_for(data_dir)).server
    with flask_app.test_request_context("/"):
        g.model_console_caller = LOCAL_CALLER
        loaded = triggered_by(
            Config.LOAD, "n_clicks", callbacks.load, 1, "", NEEDS_AT_LOAD, "1", None
        )
    status, details, chosen = loaded["status"], loaded["details"], loaded["selection"]
    text = text_of(status)
    assert "A package the model needs is not installed" in text
    assert f"The model was logged with {ABSENT_LINE}" in text
    assert "console-absent-pkg ==1.2.3 — missing" in text  # the environment table's row
    assert details is no_update and chosen is no_update  # nothing else changed


def test_a_loaded_model_shows_its_environment_in_its_details(data_dir):
    from cachelib import SimpleCache
    from flask import g

    from callbacks.config_tab import ConfigCallbacks
    from layouts.ids import Config
    from services.access.caller import LOCAL_CALLER
    from services.wiring import build_services
    from tests.callbacks.test_tabs import text_of, triggered_by

    callbacks = ConfigCallbacks(build_services(settings_for(data_dir), SimpleCache()))
    flask_app = create_app(settings=settings_for(data_dir)).server
    with flask_app.test_request_context("/"):
        g.model_console_caller = LOCAL_CALLER
        loaded = triggered_by(Config.LOAD, "n_clicks", callbacks.load, 1, "", ECHO, "1", None)
    text = text_of(loaded["details"])
    assert "Environment" in text and "From the model's requirements.txt." in text
    assert f"mlflow =={mlflow.__version__} {mlflow.__version__} installed" in text
    assert f"Python {platform.python_version()} {platform.python_version()} same" in text
