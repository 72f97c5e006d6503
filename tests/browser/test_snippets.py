""" "Use via API" in the browser: after a JSON prediction, a form prediction and for a CSV
file, the snippets shown are run as they are (Python executed, curl as a process) against
the console this browser uses, and give the predictions the page showed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from layouts.answer import FORM_ANSWER, JSON_ANSWER
from layouts.features.snippets import (
    COMPARE_ROWS_SNIPPETS,
    CSV_SNIPPETS,
    FORM_SNIPPETS,
    JSON_SNIPPETS,
    SnippetPanel,
)
from layouts.ids import Compare, Config, Csv, Json, Tab
from layouts.page import TAB_LABELS
from services.registry.demo import CHURN_MODEL, IRIS_MODEL, churn_frame
from tests.browser_helpers import click, open_tab, result_json, start_console, type_json
from tests.conftest import SETOSA, VIRGINICA, api_predict
from tests.services.test_snippets import run_curl, run_python

pytestmark = pytest.mark.browser


def shown(dash_duo, panel: SnippetPanel, kind: str) -> str:
    dash_duo.wait_for_element(f"#{panel.code(kind)}")
    return dash_duo.driver.execute_script(
        "return document.getElementById(arguments[0]).textContent", panel.code(kind)
    )


def test_json_and_form_snippets_answer_as_the_page_did(dash_duo, settings, tmp_path):
    start_console(dash_duo, settings, default_model=IRIS_MODEL, default_version="Champion")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {IRIS_MODEL}")
    open_tab(dash_duo, TAB_LABELS[Tab.JSON])
    type_json(dash_duo, json.dumps([SETOSA, VIRGINICA]))
    dash_duo.wait_for_contains_text(f"#{Json.VALIDATION}", "valid")
    click(dash_duo, f"#{Json.PREDICT}")
    on_page = result_json(dash_duo)["predictions"]
    curl = shown(dash_duo, JSON_SNIPPETS, "curl")
    assert dash_duo.server_url in curl and f"/api/models/{IRIS_MODEL}/Champion/predict" in curl
    assert json.loads(run_curl(curl, tmp_path))["predictions"] == on_page == [0, 2]
    ran = run_python(shown(dash_duo, JSON_SNIPPETS, "python"))
    assert ran["response"].json()["predictions"] == on_page
    assert (
        run_python(shown(dash_duo, JSON_SNIPPETS, "databricks"))["result"]["predictions"] == on_page
    )
    assert dash_duo.find_elements(f"#{JSON_SNIPPETS.copy('curl')}")  # a Copy button each

    click(dash_duo, f"#{Json.FORM_PREDICT}")
    form_answer = result_json(dash_duo, f"#{FORM_ANSWER.result}")["predictions"]
    ran = run_python(shown(dash_duo, FORM_SNIPPETS, "python"))
    assert ran["response"].json()["predictions"] == form_answer
    assert (
        json.loads(run_curl(shown(dash_duo, FORM_SNIPPETS, "curl"), tmp_path))["predictions"]
        == form_answer
    )
    assert result_json(dash_duo, f"#{JSON_ANSWER.result}")["predictions"] == on_page

    click(dash_duo, f"#{Compare.JSON_RUN}")
    compared = shown(dash_duo, COMPARE_ROWS_SNIPPETS, "curl")
    assert "compare?refs=Champion,Challenger" in compared
    assert json.loads(run_curl(compared, tmp_path))["predictions"]["Champion"] == on_page
    assert dash_duo.get_logs() == []


def test_a_csv_file_snippet_returns_what_the_console_predicts(
    dash_duo, settings, services, caller, tmp_path
):
    start_console(dash_duo, settings, default_model=CHURN_MODEL, default_version="1")
    dash_duo.wait_for_contains_text(f"#{Config.STATUS}", f"Loaded {CHURN_MODEL}")
    open_tab(dash_duo, TAB_LABELS[Tab.CSV])
    frame = churn_frame(15, seed=9)
    frame.to_csv(tmp_path / "people.csv", index=False)
    dash_duo.find_element(f"#{Csv.FILE_INPUT}").send_keys(str(tmp_path / "people.csv"))
    dash_duo.wait_for_contains_text(f"#{Csv.PREVIEW}", "Ready to predict")
    curl = shown(dash_duo, CSV_SNIPPETS, "curl")
    assert "@people.csv" in curl and "text/csv" in curl
    run_curl(curl, tmp_path)
    by_curl = pd.read_csv(tmp_path / "people_with_predictions.csv")
    expected = api_predict(services, caller, CHURN_MODEL, "1", frame.to_dict("records"))
    assert by_curl["prediction"].tolist() == expected.predictions

    assert dash_duo.get_logs() == []
