"""Promotion and rollback on a real SQLite registry of the test's own (a copy of the demo
registry): aliases set, moved, deleted and rolled back, the traffic split edited, every move
audited and kept, and every other instance on the same data dir answering with the new
version at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from cachelib import SimpleCache

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.errors import InvalidInput, VersionNotFound
from services.monitor.split import SPLIT_TAG
from services.registry.demo import IRIS_MODEL
from services.registry.promotion import NothingToRollBack, alias_problem
from services.settings import PROJECT_ROOT
from services.wiring import build_services
from tests.conftest import settings_for
from tests.copied_registry import copied_registry
from tests.waiting import until

ME = LOCAL_CALLER


@pytest.fixture
def own_dir(registry_dir, tmp_path):
    return copied_registry(registry_dir, tmp_path / "data")


@pytest.fixture
def own_settings(own_dir):
    # aliases remembered a minute: only the generation can make a move show at once
    return settings_for(own_dir, alias_cache_seconds=60)


@pytest.fixture
def worker_a(own_settings):
    services = build_services(own_settings, SimpleCache())
    yield services
    services.close()


@pytest.fixture
def worker_b(own_settings):
    """A second app instance on the same data dir, with its own cache (another worker)."""
    services = build_services(own_settings, SimpleCache())
    yield services
    services.close()


def champion(services) -> str:
    return services.registry.resolve(ME, IRIS_MODEL, "Champion").version


@pytest.mark.parametrize("alias", ["latest", "LATEST", "2", "v2", "V10", "", "a b", "x/y", "é"])
def test_names_that_cannot_be_aliases_are_refused(alias):
    assert alias_problem(alias) is not None


@pytest.mark.parametrize("alias", ["Champion", "Staging", "candidate-2", "v2_rc", "prod_eu"])
def test_any_valid_name_is_an_alias(alias):
    assert alias_problem(alias) is None


def test_a_move_answers_with_the_previous_version_and_is_audited(worker_a):
    moved = worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2", source=Source.API)

    assert moved.to_dict() == {"alias": "Champion", "version": "2", "previous": "1"}
    assert champion(worker_a) == "2"
    (record,) = worker_a.audit.rows(action="alias")
    assert (record["user"], record["alias"], record["outcome"]) == ("local user", "Champion", "ok")
    assert (record["previous_version"], record["version"], record["evidence"]) == ("1", "2", None)


def test_every_other_instance_answers_with_the_new_version_at_once(worker_a, worker_b):
    assert champion(worker_b) == "1"  # remembered for a minute from here on

    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")

    assert champion(worker_b) == "2"


def test_a_move_made_outside_the_console_waits_for_the_cache(worker_b, own_settings):
    """What the generation is for: without it, the remembered answer stands."""
    from mlflow import MlflowClient

    assert champion(worker_b) == "1"
    MlflowClient(own_settings.tracking_uri, own_settings.registry_uri).set_registered_model_alias(
        IRIS_MODEL, "Champion", "2"
    )
    assert champion(worker_b) == "1"


def test_history_is_newest_first_and_rollback_goes_back_one_move(worker_a, worker_b):
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Staging", "1")

    back = worker_b.promotion.rollback(ME, IRIS_MODEL, "Champion", Source.UI)

    assert back.to_dict() == {"alias": "Champion", "version": "1", "previous": "2"}
    assert champion(worker_a) == "1"
    moves = worker_b.promotion.alias_history(ME, IRIS_MODEL, "Champion")
    texts = [move.text.rsplit(" at ", 1)[0] for move in moves]
    assert texts == ["Champion: v2 → v1 by local user", "Champion: v1 → v2 by local user"]
    assert moves[0].text.endswith("(rolled back)")
    assert [m.alias for m in worker_b.promotion.alias_history(ME, IRIS_MODEL)] == [
        "Champion",
        "Staging",
        "Champion",
    ]
    assert [r["action"] for r in worker_a.audit.rows(model=IRIS_MODEL)][-1] == "alias-rollback"


def test_a_second_rollback_goes_further_back_instead_of_undoing_the_first(worker_a):
    """A double click on Roll back must not put the version just rolled back again."""
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Staging", "1")  # new: nowhere before
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")  # v1 → v2
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "1")  # v2 → v1

    assert worker_a.promotion.rollback(ME, IRIS_MODEL, "Champion").version == "2"
    assert worker_a.promotion.rollback(ME, IRIS_MODEL, "Champion").version == "1"
    with pytest.raises(NothingToRollBack):
        worker_a.promotion.rollback(ME, IRIS_MODEL, "Champion")
    assert champion(worker_a) == "1"


def test_rollback_without_an_earlier_version_changes_nothing(worker_a):
    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Staging", "2")  # new: no earlier version

    with pytest.raises(NothingToRollBack) as refused:
        worker_a.promotion.rollback(ME, IRIS_MODEL, "Staging")
    with pytest.raises(NothingToRollBack):
        worker_a.promotion.rollback(ME, IRIS_MODEL, "Challenger")  # never moved here

    assert refused.value.http_status == 409
    assert worker_a.registry.resolve(ME, IRIS_MODEL, "Staging").version == "2"


def test_a_deleted_alias_is_gone_everywhere_and_can_be_rolled_back(worker_a, worker_b):
    assert worker_b.registry.resolve(ME, IRIS_MODEL, "Challenger").version == "2"

    deleted = worker_a.promotion.delete_alias(ME, IRIS_MODEL, "Challenger")

    assert deleted.to_dict() == {"alias": "Challenger", "version": None, "previous": "2"}
    with pytest.raises(VersionNotFound):
        worker_b.registry.resolve(ME, IRIS_MODEL, "Challenger")
    assert worker_b.promotion.rollback(ME, IRIS_MODEL, "Challenger").version == "2"
    assert worker_b.registry.resolve(ME, IRIS_MODEL, "Challenger").version == "2"


@pytest.mark.parametrize(
    ("alias", "version", "refusal"),
    [
        ("latest", "2", InvalidInput),
        ("v3", "2", InvalidInput),
        ("Champion", "Challenger", InvalidInput),
        ("Champion", "9", VersionNotFound),
    ],
)
def test_a_bad_move_changes_nothing_and_is_audited(worker_a, alias, version, refusal):
    with pytest.raises(refusal):
        worker_a.promotion.set_alias(ME, IRIS_MODEL, alias, version)

    assert champion(worker_a) == "1"
    assert worker_a.promotion.alias_history(ME, IRIS_MODEL) == []
    (record,) = worker_a.audit.rows(action="alias")
    assert record["outcome"] == "error"


def test_the_split_is_written_as_the_tag_and_read_at_once_elsewhere(worker_a, worker_b):
    with pytest.raises(Exception, match="no traffic split"):
        worker_b.split.split(ME, IRIS_MODEL)  # "none" is not remembered; the tags are

    split = worker_a.promotion.set_split(ME, IRIS_MODEL, {"Champion": 90, "Challenger": 10})

    assert [(arm.ref, arm.weight) for arm in split.arms] == [("Champion", 90), ("Challenger", 10)]
    tags = worker_a.registry.model_detail(ME, IRIS_MODEL, Source.API).summary.tags
    assert tags[SPLIT_TAG] == "Champion:90,Challenger:10"
    assert worker_b.split.split(ME, IRIS_MODEL) == split
    history = worker_a.promotion.alias_history(ME, IRIS_MODEL)
    assert history[0].text.startswith("traffic split: Champion:90,Challenger:10 by local user")


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ({"Champion": 90, "Challenger": 9}, "add up to 99"),
        ({"Champion": 90, "2": 10.5}, "not a whole number"),
        ({"Champion": -10, "Challenger": 110}, "not a whole number"),
        ({}, "each arm"),
    ],
)
def test_a_split_that_does_not_add_up_is_refused(worker_a, weights, problem):
    with pytest.raises(InvalidInput, match=problem):
        worker_a.promotion.set_split(ME, IRIS_MODEL, weights)

    tags = worker_a.registry.model_detail(ME, IRIS_MODEL, Source.API).summary.tags
    assert SPLIT_TAG not in tags


def test_a_split_arm_must_exist(worker_a):
    with pytest.raises(VersionNotFound):
        worker_a.promotion.set_split(ME, IRIS_MODEL, {"Champion": 50, "Nope": 50})


def test_a_move_rests_on_the_callers_latest_evaluation_and_there_is_none_yet(worker_a):
    """The evidence comes from the evaluation service (tests/api/test_evaluate.py shows it
    after an evaluation); with none run yet, the confirmation says there is none."""
    assert worker_a.promotion.evidence == worker_a.evaluation.evidence
    assert worker_a.promotion.latest_evidence(ME, IRIS_MODEL, ("1", "2")) is None


def test_everyone_may_move_aliases_in_a_registry_without_permissions(worker_a):
    verdict = worker_a.promotion.can_manage(ME, IRIS_MODEL)
    assert (verdict.may_move, verdict.may_delete) == (True, True)


WORKER = textwrap.dedent(
    """
    import sys
    from cachelib import SimpleCache
    from services.access.caller import LOCAL_CALLER
    from services.settings import Settings
    from services.wiring import build_services
    from pathlib import Path

    data = Path(sys.argv[1])
    uri = f"sqlite:///{data / 'registry.db'}"
    settings = Settings.from_env(app_data_dir=data, tracking_uri=uri, registry_uri=uri,
                                 embedded_registry=True, alias_cache_seconds=60)
    services = build_services(settings, SimpleCache())
    for line in sys.stdin:
        print(services.registry.resolve(LOCAL_CALLER, sys.argv[2], "Champion").version,
              flush=True)
    """
)


def test_another_process_on_the_same_data_dir_sees_the_move_on_its_next_request(worker_a, own_dir):
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(own_dir), IRIS_MODEL],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def ask() -> str:
            process.stdin.write("resolve\n")
            process.stdin.flush()
            return process.stdout.readline().strip()

        assert ask() == "1"
        worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")
        assert ask() == "2"
    finally:
        process.stdin.close()
        process.wait(timeout=60)


def test_a_warmed_up_worker_reads_the_generation_from_a_table_not_from_an_error(
    worker_a, monkeypatch
):
    """Before any move, the moves' table is made by the worker's warm-up: a request's read
    then finds 0 rows' newest id instead of failing its query every time."""
    from services.registry import alias_history

    failed: list[str] = []
    real = alias_history._no_table
    monkeypatch.setattr(alias_history, "_no_table", lambda e: failed.append(str(e)) or real(e))
    assert worker_a.promotion.history.generation() == 0
    assert failed and "no such table" in failed[0]
    worker_a.warm_up()
    failed.clear()
    assert worker_a.promotion.history.generation() == 0
    assert champion(worker_a) == "1"
    assert failed == []


def test_a_worker_without_alias_caching_asks_no_generation(own_settings):
    services = build_services(replace(own_settings, alias_cache_seconds=0), SimpleCache())
    services.registry.generation = lambda: pytest.fail("asked without a cache to key")
    assert champion(services) == "1"


def test_a_locked_audit_database_still_says_the_generation(worker_a, worker_b, own_settings):
    """Its moves are written ahead (WAL): another process's lock never stalls a request."""
    from tests.services.access.test_audit_faults import locked

    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")
    with locked(own_settings.app_data_dir / "audit.db"):
        assert worker_b.promotion.history.generation() == 1
        assert champion(worker_b) == "2"


def test_while_the_moves_cannot_be_read_nothing_remembered_is_trusted(
    worker_a, worker_b, own_settings, tmp_path
):
    """The audit database away: the generation is unknown, so the alias is asked afresh
    (a move made outside the console shows at once) and predictions go on."""
    from mlflow import MlflowClient
    from sqlalchemy import create_engine

    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Staging", "2")
    assert champion(worker_b) == "1"
    MlflowClient(own_settings.tracking_uri, own_settings.registry_uri).set_registered_model_alias(
        IRIS_MODEL, "Champion", "2"
    )
    assert champion(worker_b) == "1"  # remembered, and no move of the console's since
    worker_b.promotion.history.reader = create_engine(f"sqlite:///{tmp_path}/gone/audit.db")

    assert worker_b.promotion.history.generation() is None
    assert champion(worker_b) == "2"


def test_a_move_records_the_callers_latest_evaluation_of_both_versions(worker_a, tmp_path):
    """The evidence is found by the server: a page or a client cannot name one."""
    from services.registry.demo import _iris_data

    X, y = _iris_data()
    source = tmp_path / "iris_labeled.csv"
    X.assign(species=y).to_csv(source, index=False)
    with source.open("rb") as stream:
        stored = worker_a.files.upload(ME, "iris_labeled.csv", stream)
    request = {"kind": "evaluate", "source": f"upload:{stored.file_id}", "label": "species"}
    job = worker_a.jobs.submit(
        ME, IRIS_MODEL, "Champion", {**request, "compare_with": ["2"]}, "api"
    )
    until(lambda: worker_a.jobs.get(ME, job.job_id).done, 60, poll=0.2)
    assert worker_a.jobs.get(ME, job.job_id).state == "succeeded"

    worker_a.promotion.set_alias(ME, IRIS_MODEL, "Champion", "2")
    (moved,) = worker_a.audit.rows(action="alias")
    assert moved["evidence"] == job.job_id
    assert worker_a.promotion.alias_history(ME, IRIS_MODEL, "Champion")[0].evidence == job.job_id
