"""Free text in the form and in explanations: a real pipeline reading reviews (TF-IDF and a
logistic regression), registered with its training reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cachelib import SimpleCache
from dash import dcc
from flask import g

from app import create_app
from callbacks.json_tab import JsonCallbacks
from layouts.features.explain import explanation_view
from layouts.features.whatif import feature_options
from layouts.ids import form_field
from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.explain.reference import REFERENCE_FILE
from services.registry.text_columns import TEXT_COLUMNS_TAG
from services.wiring import build_services
from tests.code_models import fresh_registry, pinned
from tests.conftest import settings_for

pytestmark = pytest.mark.slow
MODEL = "test.text.reviews"  # v1 as logged; v2 the same, tagged: title is free text too
GOOD = ["arrived early and works better than the description promised", "lovely"]
BAD = ["broke after two days and the seller never answered my emails", "awful"]


def reviews(rows: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    generator = np.random.default_rng(0)
    liked = generator.integers(0, 2, rows)
    frame = pd.DataFrame(
        {
            "review": [
                f"{(GOOD if like else BAD)[0]}, order number {i}" for i, like in enumerate(liked)
            ],
            "title": [(GOOD if like else BAD)[1] for like in liked],
            "stars": (liked * 3 + generator.integers(1, 3, rows)).astype(float),
        }
    )
    return frame, liked


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory):
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    data_dir: Path = tmp_path_factory.mktemp("text")
    frame, liked = reviews()
    pipeline = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("review", TfidfVectorizer(), "review"),
                        ("title", OneHotEncoder(handle_unknown="ignore"), ["title"]),
                    ],
                    remainder="passthrough",
                ),
            ),
            ("model", LogisticRegression(max_iter=500)),
        ]
    ).fit(frame, liked)
    reference = data_dir / REFERENCE_FILE
    frame.to_parquet(reference, index=False)
    with fresh_registry(data_dir) as registry:
        registry.client.create_registered_model(MODEL)
        for _ in range(2):
            with mlflow.start_run(experiment_id=registry.experiment_id):
                info = mlflow.sklearn.log_model(
                    pipeline,
                    name="model",
                    signature=infer_signature(frame, liked),
                    input_example=frame.head(1),
                    serialization_format="cloudpickle",
                    pip_requirements=pinned("scikit-learn", "pandas"),
                )
            registry.client.log_model_artifact(info.model_id, str(reference))
            registry.client.create_model_version(MODEL, source=info.model_uri, run_id=info.run_id)
        registry.client.set_model_version_tag(MODEL, "2", TEXT_COLUMNS_TAG, '["title"]')
    return build_services(settings_for(data_dir), SimpleCache())


def kinds(services, version: str) -> dict[str, str]:
    space = services.explain.what_if_space(LOCAL_CALLER, MODEL, version)
    return {r.feature: r.kind for r in space.ranges}


def test_long_training_text_is_free_text_and_a_tag_makes_short_text_free_text(services):
    assert kinds(services, "1") == {"review": "text", "title": "category", "stars": "number"}
    assert kinds(services, "2") == {"review": "text", "title": "text", "stars": "number"}


def test_the_form_gives_free_text_a_box_of_several_lines(services):
    selection = {"name": MODEL, "ref": "1", "version": "1", "alias": None}
    flask_app = create_app(settings=services.settings).server
    with flask_app.test_request_context("/"):
        g.model_console_caller = LOCAL_CALLER
        form = JsonCallbacks(services, lambda file_id: file_id).build_form(selection)
    controls = {str(c.id): c for c in _walk(form) if getattr(c, "id", None) is not None}
    review = controls[str(form_field("review"))]
    assert type(review).__name__ == "Textarea" and review.rows >= 3
    assert review.value.startswith(reviews()[0]["review"][0][:20])
    assert type(controls[str(form_field("title"))]).__name__ == "Input"
    under = [c for c in _walk(form) if isinstance(c, dcc.Slider)]
    assert under  # stars still gets its slider; review gets no category list
    assert not any("review" in str(getattr(c, "id", "")) for c in _walk(form) if _is_choice(c))


def test_free_text_is_not_offered_for_a_sweep(services):
    ranges = [r.to_dict() for r in services.explain.what_if_space(LOCAL_CALLER, MODEL, "1").ranges]
    options, first = feature_options(ranges)
    assert [o["value"] for o in options] == ["title", "stars"]
    assert first == "stars"


def test_the_explanation_says_the_whole_text_is_one_feature(services):
    row = reviews()[0].head(1).to_dict("records")
    explained = services.explain.explain(LOCAL_CALLER, MODEL, "1", row, source=Source.API)
    body = explained.to_dict()
    assert body["text_features"] == ["review"]
    first = explained.rows[0]
    total = first.base_value + sum(c["contribution"] for c in first.contributions)
    assert math.isclose(total, first.output, rel_tol=1e-6, abs_tol=1e-9)
    assert [c["feature"] for c in first.contributions] == ["review", "title", "stars"]
    shown = _text(explanation_view({**body, "note": ""}))
    assert "review is free text: the whole text counts as one feature" in shown


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)


def _is_choice(component) -> bool:
    return type(component).__name__ == "Select"


def _text(component) -> str:
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    if isinstance(component, list):
        return " ".join(map(_text, component))
    return _text(getattr(component, "children", None))
