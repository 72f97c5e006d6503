"""Layouts: every component ID is unique; every error type renders as an alert."""

from __future__ import annotations

import json

import pytest

from layouts.components import error_alert
from layouts.ids import ALL_IDS, Compare, Json
from layouts.page import page_layout
from services import errors
from tests.source_tree import PROJECT


def _ids(component) -> list:
    found = []
    node = component.to_plotly_json() if hasattr(component, "to_plotly_json") else component
    if isinstance(node, dict):
        props = node.get("props", node)
        if isinstance(props, dict) and "id" in props:
            found.append(json.dumps(props["id"], sort_keys=True, default=str))
        for value in props.values() if isinstance(props, dict) else []:
            found += _ids(value)
    elif isinstance(node, (list, tuple)):
        for child in node:
            found += _ids(child)
    return found


def test_id_constants_are_unique():
    assert len(ALL_IDS) == len(set(ALL_IDS))


def test_no_id_appears_twice_in_the_page(settings):
    ids = _ids(page_layout(settings))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ids) > 30


def test_no_id_is_typed_again_in_javascript():
    """The page hands console.js the IDs it needs; none of them is written there again."""
    script = (PROJECT / "assets" / "console.js").read_text()
    typed = [str(component_id) for component_id in ALL_IDS if f'"{component_id}"' in script]
    assert typed == []
    assert "data-upload" in script


@pytest.mark.parametrize(
    "error_type",
    [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ConsoleError)
    ],
)
def test_every_error_type_renders_with_title_message_and_hint(error_type):
    alert = json.dumps(
        error_alert(error_type("What went wrong.", hint="What to do.")).to_plotly_json(),
        default=str,
    )
    for text in (error_type.title, "What went wrong.", "What to do."):
        assert text in alert


def test_a_result_preview_shows_the_answer_before_the_inputs():
    from layouts.csv_tab import answer_first

    columns = ["customer_id", "age", "prediction", "prediction_label", "probability_1", "error"]
    assert answer_first(columns) == [
        "prediction",
        "prediction_label",
        "probability_1",
        "error",
        "customer_id",
        "age",
    ]


def test_a_model_name_may_break_only_after_its_dots():
    from layouts.components import breakable_name

    parts = breakable_name("main.ml_models.customer_churn")
    assert [p for p in parts if isinstance(p, str)] == [
        "main",
        ".",
        "ml_models",
        ".",
        "customer_churn",
    ]
    assert len(parts) == 7  # a <wbr> after each dot
    assert breakable_name("iris") == ["iris"]


def _props_by_id(component, wanted: str) -> dict:
    node = component.to_plotly_json() if hasattr(component, "to_plotly_json") else component
    if isinstance(node, dict):
        props = node.get("props", node)
        if isinstance(props, dict):
            if props.get("id") == wanted:
                return props
            for value in props.values():
                found = _props_by_id(value, wanted)
                if found:
                    return found
    elif isinstance(node, (list, tuple)):
        for child in node:
            found = _props_by_id(child, wanted)
            if found:
                return found
    return {}


def test_each_compare_button_starts_as_its_predict_does(settings):
    """Before the clientside mirror runs, Compare is not offered where Predict is not."""
    page = page_layout(settings)
    for compare, predict in (
        (Compare.JSON_RUN, Json.PREDICT),
        (Compare.FORM_RUN, Json.FORM_PREDICT),
    ):
        started = _props_by_id(page, compare).get("disabled", False)
        assert started == _props_by_id(page, predict).get("disabled", False), compare
    assert _props_by_id(page, Compare.JSON_RUN)["disabled"] is True  # no JSON typed yet
