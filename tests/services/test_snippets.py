"""The snippets of "Use via API" are run as a user would run them (Python executed, curl as a
process) against the console served on 127.0.0.1, and answer what the console answered."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from werkzeug.serving import make_server

from services.access.audit import Source
from services.evaluation.service import Request
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, _iris_data, churn_frame
from services.snippets import COMPARE, EVALUATE, SnippetRequest, console_url, snippets
from tests.conftest import SETOSA, VIRGINICA, api_predict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_url(flask_app) -> Iterator[str]:
    """The console's Flask app behind a real HTTP server on loopback."""
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)


def run_python(code: str) -> dict:
    """The snippet executed as a script (its own namespace), what it printed kept."""
    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(compile(code, "<snippet>", "exec"), namespace)
    namespace["printed"] = printed.getvalue()
    return namespace


def run_javascript(code: str, cwd: Path) -> str:
    """The snippet saved as the module its first line says to save it as, run with Node."""
    saved_as = re.search(r"saved as (\S+\.mjs)", code.splitlines()[0]).group(1)
    (cwd / saved_as).write_text(code)
    done = subprocess.run(
        ["node", saved_as], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def run_notebook(code: str, cwd: Path, answer: str = "model.predict(rows).tolist()") -> Any:
    """The notebook cell in a Python of its own (it sets MLflow's registry for the process);
    ``answer`` of the names it left, as JSON."""
    cell = f"{code}\nimport json\nprint(json.dumps({answer}))"
    done = subprocess.run(
        [sys.executable, "-c", cell], cwd=cwd, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_curl(command: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.mark.parametrize("payload", [SETOSA, [SETOSA, VIRGINICA]])
def test_json_snippets_answer_what_the_console_answered(
    live_url, services, caller, payload, tmp_path
):
    expected = api_predict(services, caller, IRIS_MODEL, "Champion", payload).predictions
    where = {
        "registry_uri": services.settings.registry_uri,
        "tracking_uri": services.settings.tracking_uri,
    }
    request = SnippetRequest(live_url, IRIS_MODEL, "Champion", "none", payload=payload, **where)
    made = snippets(request)
    assert run_python(made.python)["response"].json()["predictions"] == expected
    assert run_python(made.databricks)["result"]["predictions"] == expected
    assert json.loads(run_curl(made.curl, Path.cwd()))["predictions"] == expected
    assert json.loads(run_javascript(made.javascript, tmp_path)) == expected
    assert "models:/main.ml_models.iris_classifier@Champion" in made.notebook
    assert run_notebook(made.notebook, tmp_path) == expected


def test_a_csv_snippet_returns_the_file_with_its_predictions(
    live_url, tmp_path, monkeypatch, services, caller
):
    frame = churn_frame(12, seed=3)
    frame.to_csv(tmp_path / "customers.csv", index=False)
    expected = api_predict(services, caller, CHURN_MODEL, "1", frame.to_dict("records")).predictions
    request = SnippetRequest(live_url, CHURN_MODEL, "1", "none", csv_file="customers.csv")
    made = snippets(request)
    run_curl(made.curl, tmp_path)
    by_curl = pd.read_csv(tmp_path / "customers_with_predictions.csv")
    assert by_curl["prediction"].tolist() == expected
    (tmp_path / "customers_with_predictions.csv").unlink()
    monkeypatch.chdir(tmp_path)  # the snippet names the file as the person uploaded it
    run_python(made.python)
    by_python = pd.read_csv(tmp_path / "customers_with_predictions.csv")
    assert by_python["prediction"].tolist() == expected
    assert run_python(made.databricks)["result"]["predictions"] == expected
    (tmp_path / "customers_with_predictions.csv").unlink()
    run_javascript(made.javascript, tmp_path)
    by_node = pd.read_csv(tmp_path / "customers_with_predictions.csv")
    assert by_node["prediction"].tolist() == expected


def registries(services) -> dict[str, str]:
    return {
        "registry_uri": services.settings.registry_uri,
        "tracking_uri": services.settings.tracking_uri,
    }


def test_compare_snippets_answer_what_the_console_compared(live_url, services, caller, tmp_path):
    rows = [SETOSA, VIRGINICA, {**SETOSA, "petal length (cm)": 4.9}]
    refs = ["Champion", "Challenger"]
    expected = services.compare.compare(caller, IRIS_MODEL, refs, rows, source=Source.API)
    request = SnippetRequest(
        live_url,
        IRIS_MODEL,
        "Champion",
        "none",
        payload=rows,
        action=COMPARE,
        compare_with=("Challenger",),
        **registries(services),
    )
    made = snippets(request)
    assert made.databricks is None  # that shape is for predictions only
    assert run_python(made.python)["response"].json()["predictions"] == expected.predictions
    assert json.loads(run_curl(made.curl, tmp_path))["predictions"] == expected.predictions
    assert json.loads(run_javascript(made.javascript, tmp_path)) == expected.predictions
    by_notebook = run_notebook(made.notebook, tmp_path, "predictions.to_dict('list')")
    assert list(by_notebook.values()) == [expected.predictions[ref] for ref in refs]


@pytest.fixture
def labelled_iris_csv(tmp_path, monkeypatch) -> pd.DataFrame:
    """The labelled iris file in the folder the snippets run in, as a person saved it."""
    features, species = _iris_data()
    frame = features.assign(species=species)
    frame.to_csv(tmp_path / "iris 'labelled' $HOME.csv", index=False)
    monkeypatch.chdir(tmp_path)  # the Python snippets open the file by its name
    return frame


def file_snippets(live_url, services, action: str, **what: Any):
    return snippets(
        SnippetRequest(
            live_url,
            IRIS_MODEL,
            "Champion",
            "none",
            csv_file="iris 'labelled' $HOME.csv",
            action=action,
            compare_with=("Challenger",),
            **what,
            **registries(services),
        )
    )


def test_a_file_compare_snippet_uploads_waits_for_its_job_and_saves_the_compared_file(
    live_url, services, caller, labelled_iris_csv, tmp_path
):
    rows = labelled_iris_csv.drop(columns="species").to_dict("records")
    refs = ["Champion", "Challenger"]
    expected = services.compare.compare(caller, IRIS_MODEL, refs, rows, source=Source.API)
    made = file_snippets(live_url, services, COMPARE)
    saved = tmp_path / "iris 'labelled' $HOME_compared.csv"

    def compared_columns() -> list[list]:
        frame = pd.read_csv(saved)
        saved.unlink()
        columns = [c for c in frame.columns if c.startswith("prediction_")]
        return [frame[column].tolist() for column in columns]

    predicted = [expected.predictions[ref] for ref in refs]
    printed = run_curl(made.curl, tmp_path)
    assert float(printed) == pytest.approx(expected.tally.agreement)
    assert compared_columns() == predicted
    assert run_python(made.python)["job"]["result"]["rows"] == 150
    assert compared_columns() == predicted
    assert float(run_javascript(made.javascript, tmp_path)) == pytest.approx(
        expected.tally.agreement
    )
    assert compared_columns() == predicted


def test_an_evaluation_snippet_prints_what_the_console_evaluated(
    live_url, services, caller, labelled_iris_csv, tmp_path
):
    rows = labelled_iris_csv.to_dict("records")
    wanted = Request(["Champion", "Challenger"], "species")
    expected = services.evaluation.evaluate(caller, IRIS_MODEL, wanted, rows, source=Source.API)
    metrics = [version["metrics"] for version in expected.to_dict()["versions"]]
    made = file_snippets(live_url, services, EVALUATE, label="species")

    printed = run_curl(made.curl, tmp_path).splitlines()
    assert [json.loads(line)["metrics"] for line in printed[:2]] == [
        pytest.approx(m, abs=1e-12) for m in metrics
    ]
    assert printed[2] == expected.to_dict()["comparison"]["summary"]
    evaluation = run_python(made.python)["evaluation"]
    assert [v["metrics"] for v in evaluation["versions"]] == [
        pytest.approx(m, abs=1e-12) for m in metrics
    ]
    by_node = run_javascript(made.javascript, tmp_path).splitlines()
    assert [json.loads(line.split(" ", 2)[2]) for line in by_node[:2]] == [
        pytest.approx(m, abs=1e-12) for m in metrics
    ]
    assert by_node[0].startswith("Champion 1 ") and by_node[1].startswith("Challenger 2 ")
    # the notebook cell loads both versions as the compare test runs it; here the truth is
    # set apart before the rows are predicted
    assert "truth = rows.pop('species')" in made.notebook


def test_a_refused_file_job_stops_the_curl_script_with_the_consoles_message(
    live_url, services, labelled_iris_csv, tmp_path
):
    made = file_snippets(live_url, services, EVALUATE, label="no_such_column")
    done = subprocess.run(
        ["bash", "-c", made.curl], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "no_such_column" in done.stderr, done.stderr


def test_no_credential_is_written_only_where_to_find_it():
    for mode, words in (
        ("mlflow-basic", ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")),
        ("databricks", ("DATABRICKS_TOKEN", "Bearer")),
    ):
        request = SnippetRequest("https://apps.example/", "m", "Champion", mode, payload={"x": 1})
        made = snippets(request)
        for text in (made.curl, made.python, made.javascript, made.databricks):
            assert all(word in text for word in words), (mode, text)
        job = snippets(
            SnippetRequest(
                "https://apps.example/", "m", "Champion", mode, csv_file="a.csv", action=COMPARE
            )
        )
        for text in (job.curl, job.python, job.javascript):  # every request of the script
            assert all(word in text for word in words), (mode, text)
    plain = snippets(SnippetRequest("http://127.0.0.1:8050/", "m", "1", "none", payload={}))
    assert "Authorization" not in plain.curl + plain.python + plain.javascript + plain.databricks
    server = "https://alice:s3cret@mlflow.example/"
    request = SnippetRequest(
        "h/", "m", "2", "mlflow-basic", {}, registry_uri=server, tracking_uri=server
    )
    cell = snippets(request).notebook
    assert "s3cret" not in cell and "alice" not in cell
    assert "set_tracking_uri('https://mlflow.example/')" in cell and "'models:/m/2'" in cell
    assert "MLFLOW_TRACKING_PASSWORD" in cell


def test_the_console_address_is_read_from_the_page_url_and_nothing_else():
    assert (
        console_url("https://x.example/console/?model=m&tab=json#a") == "https://x.example/console/"
    )
    assert console_url("http://127.0.0.1:8050/") == "http://127.0.0.1:8050/"
    for hostile in (
        "javascript:alert(1)",
        "http://user:pw@x.example/",
        "file:///etc/passwd",
        None,
        3,
    ):
        assert console_url(hostile) is None
    quoted = snippets(
        SnippetRequest("http://h.example/", "m", "1", "none", payload={"t": "it's; rm -rf ~"})
    ).curl
    assert '-d \'{"t":"it\'"\'"\'s; rm -rf ~"}\'' in quoted  # one shell word, run as data
