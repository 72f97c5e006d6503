"""Schemathesis against the live console (the real WSGI app over a real registry), driven by
the console's own OpenAPI document, in each identity mode: no answer is a server error, and
every answer (status, media type, headers, body) is one the document declares.

Bounded: a few examples per operation, no coverage or stateful phase (each would multiply
the requests by tens), no example database (a rerun must not carry an earlier run's cases
into a shared checkout)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from services.registry.demo import CHURN_MODEL, IRIS_MODEL
from services.settings import embedded_tracking_uri
from tests.conftest import mlflow_basic_settings, settings_for
from tests.copied_registry import copied_registry
from tests.databricks_fake import ALLOWED_TOKEN, running_workspace
from tests.databricks_fake import MODEL as FAKE_MODEL

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 10
MOVES = r"/aliases/|/split$"  # the promotion routes
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CONFIG = {
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
}


@dataclass(frozen=True)
class LiveApi:
    """The console in one identity mode: its document, a model its caller may use, and the
    headers its caller sends."""

    schema: schemathesis.BaseSchema
    model: str
    headers: dict[str, str]
    keep_still: bool = False


def _live(server, model: str, headers: dict[str, str], keep_still: bool = False) -> LiveApi:
    """``keep_still``: leave out the routes that move aliases and the split, for a registry
    other tests read (the session's auth server); mode none fuzzes them on a copy."""
    config = schemathesis.Config.from_dict(CONFIG)
    schema = schemathesis.openapi.from_wsgi(
        "/api/openapi.json", server, config=config, headers=headers
    )
    if keep_still:
        schema = schema.exclude(path_regex=MOVES, method=["PUT", "DELETE", "POST"])
    return LiveApi(schema, model, headers, keep_still)


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module", params=["none", "databricks", "mlflow-basic"])
def live_api(request, tmp_path_factory) -> Iterator[LiveApi]:
    mode = request.param
    if mode == "none":
        # A registry of its own: the fuzzed promotion routes move its aliases and split.
        source = request.getfixturevalue("registry_dir")
        own = copied_registry(source, tmp_path_factory.mktemp("schemathesis-none"))
        yield _live(create_app(settings=settings_for(own)).server, IRIS_MODEL, {})
    elif mode == "mlflow-basic":
        server = request.getfixturevalue("auth_server")
        data = tmp_path_factory.mktemp("schemathesis-basic")
        app = create_app(settings=mlflow_basic_settings(server, data))
        alice = _basic("alice", server.passwords["alice"])
        yield _live(app.server, server.models["X"], alice, keep_still=True)
    else:
        files = _model_files(request.getfixturevalue("registry_dir"), tmp_path_factory)
        with pytest.MonkeyPatch.context() as patch, running_workspace(files) as host:
            # What Databricks Apps always set; the console must act as the user, not as these.
            patch.setenv("DATABRICKS_HOST", host)
            patch.setenv("DATABRICKS_CLIENT_ID", "service-principal-id")
            patch.setenv("DATABRICKS_CLIENT_SECRET", "service-principal-secret")
            patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            data = tmp_path_factory.mktemp("schemathesis-databricks")
            databricks = replace(
                settings_for(data, tracking_uri="databricks", registry_uri="databricks-uc"),
                embedded_registry=False,
                auth_mode="databricks",
                databricks_host=host,
            )
            ana = {"X-Forwarded-Email": "ana@corp.com", "X-Forwarded-Access-Token": ALLOWED_TOKEN}
            yield _live(create_app(settings=databricks).server, FAKE_MODEL, ana)


def _model_files(registry_dir, tmp_path_factory) -> Path:
    """The demo churn model's files, for the fake workspace to hand out as its model's."""
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    uri = embedded_tracking_uri(registry_dir)
    source = MlflowClient(uri, uri).get_model_version_download_uri(CHURN_MODEL, "1")
    target = tmp_path_factory.mktemp("uc-model-files")
    download_artifacts(artifact_uri=source, dst_path=str(target), tracking_uri=uri)
    return next(target.rglob("MLmodel")).parent


def _cases(live: LiveApi, operation) -> st.SearchStrategy:
    """The document's examples, valid and invalid requests, and valid requests to a model
    the caller may use (random names alone would only ever meet MODEL_NOT_FOUND)."""
    names = set(re.findall(r"{(\w+)}", operation.path))
    real = {k: v for k, v in {"name": live.model, "ref": "Champion"}.items() if k in names}
    strategies = [
        *live.schema.get_strategies_from_examples(operation),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if real:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    return st.one_of(strategies)


def test_the_live_api_answers_as_its_document_says(live_api):
    failures = []
    operations = [result.ok() for result in live_api.schema.get_all_operations()]
    for operation in operations:

        @given(case=_cases(live_api, operation))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case) -> None:
            case.call_and_validate(headers=live_api.headers, checks=CHECKS)

        try:
            run()
        # schemathesis reports a group of failures (a BaseExceptionGroup); collect every
        # operation's, not only the first one's
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}: {error}")
    assert len(operations) >= 22  # every route but the document itself (schemathesis's own)
    moving = [op.label for op in operations if re.search(MOVES, op.path) and op.method != "get"]
    assert bool(moving) != live_api.keep_still, moving
    assert failures == [], "\n\n".join(failures)
