"""Each person's JSON and form runs on the server: real SQLite files, one per test, and the
same store opened from two workers' points of view (two ``RunHistory`` on one file)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.access.caller import Caller
from services.errors import ConsoleError
from services.history import failure_entry, prediction_entry
from services.run_history import RunHistory
from services.scoring.service import Predictions

ANA, BEN = Caller(user="ana@example.com"), Caller(user="ben@example.com")
SELECTION = {"name": "main.ml_models.iris_classifier", "version": "1", "alias": "Champion"}


def _run(time: str, text: str = '{"sepal_length": 5.1}') -> dict:
    answer = Predictions(
        predictions=[0],
        model=SELECTION["name"],
        version="1",
        input_rows=1,
        alias="Champion",
        latency_ms=3.2,
        labels=["setosa"],
    )
    return prediction_entry(answer, "JSON", SELECTION, text) | {"time": time}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


def test_another_worker_reads_the_runs_newest_first_with_what_runs_them_again(url):
    older, newer = _run("2026-12-07T10:00:00+00:00"), _run("2026-12-07T10:00:05+00:00")
    RunHistory(url, keep=50).remember(ANA, older)
    RunHistory(url, keep=50).remember(ANA, newer)
    runs = RunHistory(url, keep=50).list(ANA)
    assert [r["id"] for r in runs] == [newer["id"], older["id"]]
    assert runs[0]["input"] == '{"sepal_length": 5.1}'
    assert runs[0]["preview"] == "0 · setosa"
    assert runs[0]["version"] == "1" and runs[0]["alias"] == "Champion"


def test_runs_of_one_second_keep_the_order_they_were_made_in(url):
    history = RunHistory(url, keep=50)
    same_second = [_run("2026-12-07T10:00:00+00:00") for _ in range(5)]
    for run in same_second:
        history.remember(ANA, run)
    assert [r["id"] for r in history.list(ANA)] == [r["id"] for r in reversed(same_second)]


def test_only_the_newest_are_kept(url):
    history = RunHistory(url, keep=3)
    runs = [_run(f"2026-12-07T10:00:0{i}+00:00") for i in range(5)]
    for run in runs:
        history.remember(ANA, run)
    assert [r["id"] for r in history.list(ANA)] == [r["id"] for r in runs[:1:-1]]
    assert history.find(ANA, runs[0]["id"]) is None  # dropped, not only hidden
    rows = sqlite3.connect(url.removeprefix("sqlite:///")).execute(
        "select count(*) from console_runs"
    )
    assert rows.fetchone() == (3,)


def test_nobody_reads_finds_or_clears_another_persons_runs(url):
    history = RunHistory(url, keep=50)
    anas, bens = _run("2026-12-07T10:00:00+00:00"), _run("2026-12-07T10:00:01+00:00")
    history.remember(ANA, anas)
    history.remember(BEN, bens)
    assert [r["id"] for r in history.list(BEN)] == [bens["id"]]
    assert history.find(BEN, anas["id"]) is None
    history.clear(BEN)
    assert history.list(BEN) == []
    assert [r["id"] for r in history.list(ANA)] == [anas["id"]]


def test_the_same_run_handed_over_twice_is_kept_once(url):
    history = RunHistory(url, keep=50)
    run = _run("2026-12-07T10:00:00+00:00")
    assert history.take_over(ANA, [run]) == [run["id"]]
    history.take_over(ANA, [run, run, {"id": "not a run"}])  # what is not a run is dropped
    assert [r["id"] for r in history.list(ANA)] == [run["id"]]


def test_the_same_id_is_two_runs_for_two_people(url):
    """A browser hands over what it kept; an id another person already has is not a clash."""
    history = RunHistory(url, keep=50)
    run = _run("2026-12-07T10:00:00+00:00")
    history.take_over(ANA, [run])
    history.take_over(BEN, [run | {"preview": "ben's"}])
    assert history.find(ANA, run["id"])["preview"] == "0 · setosa"
    assert history.find(BEN, run["id"])["preview"] == "ben's"


def test_a_browser_hands_over_no_more_than_a_run_made_here_would_hold(url):
    """A forged hand-over: thousands of runs, long texts, times ahead that would pin them
    above every run made later, ids of another shape."""
    history = RunHistory(url, keep=5)
    runs = [
        _run(f"2999-01-01T00:00:{n % 60:02d}+00:00", text="x" * 50_000)
        | {"preview": "p" * 5_000, "message": "m" * 50_000, "results": {"csv": "/f/1"}}
        for n in range(3_000)
    ]
    taken = history.take_over(ANA, [*runs, _run("2026-12-07T10:00:00") | {"id": "../../x"}])
    assert len(taken) == 5
    kept = history.list(ANA)
    assert len(kept) == 5
    assert all(run["input"] is None and run["results"] == {} for run in kept)
    assert all(len(run["preview"]) <= 80 and len(run["message"]) <= 2_000 for run in kept)
    assert all(run["time"] <= datetime.now(UTC).isoformat() for run in kept)
    made = _run(datetime.now(UTC).isoformat(timespec="seconds"))
    history.remember(ANA, made)
    assert history.list(ANA)[0]["id"] == made["id"]  # a run made now is the newest


def test_handed_over_runs_keep_their_order(url):
    history = RunHistory(url, keep=50)
    same_second = [_run("2026-11-01T10:00:00") for _ in range(4)]  # an older version's time
    history.take_over(ANA, same_second)  # newest first, as the browser sends them
    assert [r["id"] for r in history.list(ANA)] == [r["id"] for r in same_second]
    assert history.list(ANA)[0]["time"] == "2026-11-01T10:00:00+00:00"


def test_a_failed_run_is_kept_with_its_error_and_input(url):
    history = RunHistory(url, keep=50)
    failed = failure_entry("form", SELECTION, "The model refused the input.", text="{}")
    history.remember(ANA, failed)
    (run,) = history.list(ANA)
    assert (run["outcome"], run["message"], run["input"]) == (
        "failed",
        "The model refused the input.",
        "{}",
    )


def test_a_database_out_of_reach_is_said_in_words_and_the_prediction_goes_on(tmp_path, caplog):
    history = RunHistory(f"sqlite:///{tmp_path}", keep=50)  # a folder: SQLite cannot open it
    with pytest.raises(ConsoleError, match="history could not be read or saved"):
        history.list(ANA)
    history.remember(ANA, _run("2026-12-07T10:00:00+00:00"))  # logged, not raised
    assert "not kept in the history" in caplog.text


def test_what_a_poll_compares_changes_with_the_callers_runs_only(url):
    history = RunHistory(url, keep=2)
    empty = history.version(ANA)
    history.remember(ANA, _run("2026-12-07T10:00:00+00:00"))
    one = history.version(ANA)
    assert one != empty and history.version(ANA) == one
    history.remember(BEN, _run("2026-12-07T10:00:01+00:00"))
    assert history.version(ANA) == one  # another person's run
    for second in (2, 3):  # beyond what is kept: still a change
        history.remember(ANA, _run(f"2026-12-07T10:00:0{second}+00:00"))
        assert history.version(ANA) != one
        one = history.version(ANA)


def test_two_replicas_share_the_runs_on_postgresql():
    """AUDIT_DB_URL on a real PostgreSQL: what one replica keeps, the other lists, prunes
    to the newest and clears (the pruning DELETE and the hand-over's savepoint as
    PostgreSQL runs them)."""
    from tests.postgres_server import running_postgres

    with running_postgres() as url:
        one, other = RunHistory(url, keep=3), RunHistory(url, keep=3)
        runs = [_run(f"2026-12-07T10:00:0{n}+00:00") for n in range(5)]
        for run in runs[:3]:
            one.remember(ANA, run)
        for run in runs[3:]:
            other.remember(ANA, run)
        assert [r["id"] for r in one.list(ANA)] == [r["id"] for r in runs[:1:-1]]
        assert other.take_over(ANA, [runs[4], runs[0]]) == [runs[4]["id"], runs[0]["id"]]
        assert [r["id"] for r in other.list(ANA)] == [r["id"] for r in runs[:1:-1]]
        one.remember(BEN, _run("2026-12-07T10:00:09+00:00"))
        other.clear(ANA)
        assert one.list(ANA) == [] and len(one.list(BEN)) == 1
