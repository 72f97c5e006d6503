"""The console's API beside ``mlflow models serve`` of the same model, request by request:
every JSON form of the scoring protocol, with and without params, for a zoo of models shaped
the way real ones are (tests/zoo_models.py). Each case is held to its verdict
(tests/serve_parity.py): serve's answer, a refusal where serve refuses, or a documented
improvement, whose two answers are both held. docs/api.md shows the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from tests.conftest import settings_for
from tests.processes import PROJECT
from tests.serve_parity import (
    REFUSES,
    Kind,
    cases,
    console_answer,
    parity_table,
    same,
    serve_answer,
    serving,
    verdict_of,
)
from tests.zoo_models import register_zoo

pytestmark = pytest.mark.slow
CASES = cases()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory):
    """The zoo registered, the console on it, and serve of every zoo model (all at once)."""
    data_dir: Path = tmp_path_factory.mktemp("zoo")
    folders = register_zoo(data_dir)
    client = create_app(settings=settings_for(data_dir)).server.test_client()
    logs = data_dir / "logs"
    logs.mkdir()
    with serving(folders, logs) as servers:
        yield client, servers


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_console_answers_as_its_verdict_says(zoo, case):
    client, servers = zoo
    ours = console_answer(client, case.model, case.body)
    theirs = serve_answer(servers[case.model], case.body)
    verdict = verdict_of(case)
    if verdict.kind is Kind.SAME:
        assert (ours.status, theirs.status) == (200, 200), (ours, theirs)
        assert same(ours.predictions, theirs.predictions), (ours, theirs)
    elif verdict.kind is Kind.REFUSED:
        assert theirs.refused, theirs
        assert ours.status == 400, ours  # our refusal names what to fix (INVALID_SCHEMA …)
    else:
        assert ours.status == 200 and same(ours.predictions, verdict.console), ours
        if verdict.serve == REFUSES:
            assert theirs.refused, theirs
        else:
            assert theirs.status == 200 and same(theirs.predictions, verdict.serve), theirs


def test_docs_show_the_table_the_harness_holds():
    docs = (PROJECT / "docs" / "api.md").read_text()
    assert parity_table() in docs, "docs/api.md: paste tests.serve_parity.parity_table() again"
