"""The README's run command, started the way users and Databricks Apps start it: ``python
app.py`` from an environment built from requirements.txt alone, on a data directory that does
not exist yet. A green run in the dev environment proves nothing about that environment (the
dev extras bring packages the app needs), so these tests build their own.

Databricks itself cannot run here: the third configuration points DATABRICKS_HOST at
``tests/databricks_fake.py`` and sends the headers the Apps proxy would forward.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import requests
import yaml

from layouts.ids import Config
from services.access.identity import TOKEN_HEADER
from tests.code_models import fresh_registry, register_code_model
from tests.conftest import SETOSA, free_port
from tests.databricks_fake import ALLOWED_TOKEN, FakeWorkspace, running_workspace
from tests.flavour_models import XGBOOST_ONLY, register_flavour_models
from tests.processes import PROJECT, clean_environment, running, wait_for
from tests.registry_models import STAGED_MODEL
from tests.runtime_env import runtime_python
from tests.source_tree import imported_roots

pytestmark = pytest.mark.slow
SOURCE_FOLDERS = ("app.py", "api", "callbacks", "layouts", "services")


@pytest.fixture(scope="module")
def runtime() -> Path:
    return runtime_python()


def serve(runtime: Path, tmp_path: Path, **settings: object):
    """``python app.py`` with only ``settings`` configured; yields the process."""
    env = clean_environment(HOME=tmp_path, **settings)
    return running([str(runtime), "app.py"], env, tmp_path / "server.log")


def readme_curl(port: int) -> str:
    """The README's curl example, sent to this test's port."""
    readme = (PROJECT / "README.md").read_text()
    block = re.search(r"Try it:\s*```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "README has no 'Try it' curl example"
    command = "\n".join(line for line in block.group(1).splitlines() if not line.startswith("#"))
    assert "localhost:8050" in command
    return command.replace("localhost:8050", f"127.0.0.1:{port}")


def page_renders(dash_br, url: str) -> None:
    """The console's first screen in headless Chromium, with nothing in the console log."""
    dash_br.server_url = url
    dash_br.wait_for_element(f"#{Config.LOAD}", timeout=30)
    dash_br.wait_for_contains_text("body", "Model Configuration")
    assert dash_br.get_logs() == []


def test_embedded_default_serves_the_page_and_the_readme_curl_example(runtime, tmp_path, dash_br):
    port = free_port()
    with serve(runtime, tmp_path, PORT=port, APP_DATA_DIR=tmp_path / "fresh" / "data") as app:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/api/health", app).status_code == 200
        page_renders(dash_br, base)
        dash_br.wait_for_contains_text(
            f"#{Config.STATUS}", "Loaded", timeout=90
        )  # a fresh dir seeds first
        answer = subprocess.run(
            ["bash", "-c", readme_curl(port)], capture_output=True, text=True, timeout=60
        )
        body = orjson.loads(answer.stdout)
        assert (body["predictions"], body["version"], body["alias"]) == ([0], "1", "Champion")


def test_own_registry_and_a_data_dir_that_does_not_exist_yet(runtime, tmp_path, dash_br, settings):
    port = free_port()
    data_dir = tmp_path / "not" / "there" / "yet"
    with serve(
        runtime,
        tmp_path,
        PORT=port,
        APP_DATA_DIR=data_dir,
        MLFLOW_TRACKING_URI=settings.tracking_uri,
    ) as app:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/api/health", app).json()["embedded_registry"] is False
        page_renders(dash_br, base)
        url = f"{base}/api/models/{STAGED_MODEL}/Production/predict"
        answer = requests.post(url, json=SETOSA, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [0]
    assert (data_dir / "audit.db").exists()


PLAIN_MODEL = "test.runtime.doubler"
DOUBLER = """
import mlflow
class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] * 2
mlflow.models.set_model(Doubler())
"""


def test_a_model_whose_package_is_missing_says_so_and_the_app_keeps_serving(
    runtime, tmp_path, dash_br
):
    """An XGBoost model, served from the environment requirements.txt builds (no xgboost)."""
    import xgboost

    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    register_flavour_models(registry_dir)
    with fresh_registry(registry_dir) as registry:
        register_code_model(registry, PLAIN_MODEL, DOUBLER)
    line = f"xgboost=={xgboost.__version__}"
    port = free_port()
    with serve(
        runtime,
        tmp_path,
        PORT=port,
        APP_DATA_DIR=tmp_path / "data",
        MLFLOW_TRACKING_URI=f"sqlite:///{registry_dir / 'registry.db'}",
        MODEL_NAME=XGBOOST_ONLY,
        MODEL_VERSION="1",
    ) as app:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/health", app)
        row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
        for _ in range(2):  # the second answer comes from the remembered failure
            refused = requests.post(f"{base}/api/models/{XGBOOST_ONLY}/1/predict", json=row)
            assert refused.status_code == 424, refused.text
            body = refused.json()
            assert body["error_code"] == "MODEL_DEPENDENCY_MISSING"
            assert (body["missing_module"], body["requirement"]) == ("xgboost", line)
            assert f"add the line {line} to the app's requirements.txt" in body["hint"]
        served = requests.post(f"{base}/api/models/{PLAIN_MODEL}/1/predict", json={"x": 2.5})
        assert served.json()["predictions"] == [5.0]
        detail = requests.get(f"{base}/api/models/{XGBOOST_ONLY}/1", timeout=30).json()
        states = {r["package"]: r for r in detail["environment"]["requirements"]}
        assert (states["xgboost"]["state"], states["xgboost"]["line"]) == ("missing", line)
        assert states["mlflow"]["state"] == "installed"
        # Model Configuration loads the preselected model on the first visit
        page_renders(dash_br, base)
        dash_br.wait_for_contains_text(
            f"#{Config.STATUS}", "A package the model needs is not installed", timeout=60
        )
        status = dash_br.find_element(f"#{Config.STATUS}").text
        assert f"The model was logged with {line}" in status
        assert "missing" in dash_br.find_element(f"#{Config.STATUS} .requirement-missing").text


def test_databricks_app_environment(runtime, tmp_path):
    """``app.yaml``'s command and environment, with what Databricks Apps always set."""
    manifest = yaml.safe_load((PROJECT / "app.yaml").read_text())
    assert manifest["command"] == ["python", "app.py"]
    port = free_port()
    with running_workspace() as workspace:
        env = {item["name"]: item["value"] for item in manifest["env"]}
        env |= {
            "DATABRICKS_APP_NAME": "model-console",
            "DATABRICKS_APP_PORT": port,
            "DATABRICKS_HOST": workspace,
            "DATABRICKS_CLIENT_ID": "service-principal",
            "DATABRICKS_CLIENT_SECRET": "service-principal-secret",
            "HOST": "127.0.0.1",
            "APP_DATA_DIR": tmp_path / "app-data",
        }
        with serve(runtime, tmp_path, **env) as app:
            base = f"http://127.0.0.1:{port}"
            user = {"X-Forwarded-Email": "ana@corp.com"}
            wait_for(f"{base}/api/health", app)
            refused = requests.get(f"{base}/", headers=user, timeout=30)
            assert refused.status_code == 401
            assert "User authorization is not enabled" in refused.text
            signed = {**user, TOKEN_HEADER: ALLOWED_TOKEN}
            page = requests.get(f"{base}/", headers=signed, timeout=30)
            assert page.status_code == 200 and "Model Console" in page.text
            models = requests.get(f"{base}/api/models", headers=signed, timeout=30)
            assert models.status_code == 200, models.text
            assert [m["name"] for m in models.json()["models"]] == ["main.sales.churn"]
        tokens = {seen["authorization"] for seen in FakeWorkspace.seen}
        assert tokens == {f"Bearer {ALLOWED_TOKEN}"}  # never the service principal


# Imports of a mode installed from its own requirements file (SPARK_REMOTE:
# requirements-spark.txt); without it that mode refuses to start (test below).
OPTIONAL_IMPORTS = {"pyspark": "pyspark[connect]=="}


def test_spark_without_its_client_stops_once_with_one_line(runtime, tmp_path):
    env = clean_environment(
        APP_DATA_DIR=tmp_path / "data", PORT=free_port(), SPARK_REMOTE="sc://127.0.0.1:1"
    )
    started = subprocess.run(
        [str(runtime), "app.py"], cwd=PROJECT, env=env, timeout=120, capture_output=True, text=True
    )
    assert started.returncode != 0
    lines = [line for line in started.stderr.splitlines() if line.startswith("Cannot start")]
    assert "Booting worker" not in started.stderr
    assert lines == [
        "Cannot start the model console: SPARK_REMOTE is set, but the Spark "
        "Connect client is not installed: pip install -r requirements-spark.txt "
        "(or unset SPARK_REMOTE)."
    ], started.stderr[-2000:]


def test_every_run_time_import_is_in_requirements_txt(runtime):
    """Imports made only in some modes (Celery with REDIS_URL, Unity Catalog on Databricks)
    resolve in the runtime environment too."""
    files = [PROJECT / "app.py"] + [
        path for folder in SOURCE_FOLDERS[1:] for path in (PROJECT / folder).rglob("*.py")
    ]
    ours = set(SOURCE_FOLDERS) | {"app"}
    imported = set().union(*map(imported_roots, files))
    packages = sorted(imported - ours - set(sys.stdlib_module_names))
    missing = subprocess.run(
        [
            str(runtime),
            "-c",
            "import importlib.util, sys\n"
            "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))",
            *packages,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    optional = (PROJECT / "requirements-spark.txt").read_text()
    assert [name for name in missing if name not in OPTIONAL_IMPORTS] == []
    assert all(OPTIONAL_IMPORTS[name] in optional for name in missing)
    job_runners = "import celery, redis; from multiprocessing import forkserver"
    subprocess.run([str(runtime), "-c", job_runners], check=True)
