"""A/B traffic splits read from the registry: stickiness, proportions, audit, bad tags."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from cachelib import SimpleCache

from app import services_of
from services.monitor.split import (
    SPLIT_TAG,
    SplitMisconfigured,
    TrafficSplit,
    parse_split,
    request_key,
)
from services.registry.demo import HOUSE_PRICE_MODEL, IRIS_MODEL, house_frame
from services.wiring import build_services
from tests.conftest import SETOSA

SPLIT = f"/api/models/{IRIS_MODEL}/split/predict"


@pytest.fixture
def iris_split(mlflow_client):
    """iris carries a 90/10 split while a test runs."""
    mlflow_client.set_registered_model_tag(IRIS_MODEL, SPLIT_TAG, "Champion:90,Challenger:10")
    yield
    mlflow_client.delete_registered_model_tag(IRIS_MODEL, SPLIT_TAG)


def test_the_same_key_always_gets_the_same_arm():
    split = parse_split("m", "Champion:90, Challenger:10")
    assert {split.arm_for("user-42").ref for _ in range(50)} == {split.arm_for("user-42").ref}


def test_ten_thousand_keys_follow_the_weights_within_two_percent():
    split = parse_split("m", "Champion:90,Challenger:10")
    counts = Counter(split.arm_for(f"key-{i}").ref for i in range(10_000))
    assert abs(counts["Champion"] / 10_000 - 0.9) < 0.02
    assert abs(counts["Challenger"] / 10_000 - 0.1) < 0.02
    three = Counter(parse_split("m", "1:1,2:1,3:2").arm_for(f"k{i}").ref for i in range(10_000))
    assert [
        abs(three[r] / 10_000 - w) < 0.02 for r, w in (("1", 0.25), ("2", 0.25), ("3", 0.5))
    ] == [True] * 3


def test_changing_the_weights_moves_only_the_keys_between_the_boundaries():
    before, after = parse_split("m", "A:90,B:10"), parse_split("m", "A:80,B:20")
    moved = [k for k in map(str, range(5_000)) if before.arm_for(k).ref != after.arm_for(k).ref]
    assert all(before.arm_for(k).ref == "A" and after.arm_for(k).ref == "B" for k in moved)
    assert 0.05 < len(moved) / 5_000 < 0.15


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("Champion=90", "'Champion=90' is not arm:weight"),
        ("Champion:90,Champion:10", "arm Champion appears twice"),
        ("Champion:0,Challenger:0", "every weight is 0, so no arm would get traffic"),
        ("Champion:ninety", "'Champion:ninety' is not arm:weight"),
    ],
)
def test_a_bad_tag_tells_the_model_owner_what_to_change(tag, problem):
    with pytest.raises(SplitMisconfigured) as raised:
        parse_split("main.m", tag)
    assert raised.value.message == (
        f"The traffic split of main.m (tag {SPLIT_TAG} = '{tag}') does not read: {problem}."
    )
    assert "Champion:90,Challenger:10" in raised.value.hint


def test_split_predict_through_the_api_is_sticky_and_audited(client, flask_app, iris_split):
    answers = [
        client.post(SPLIT, json=SETOSA, headers={"X-Request-Key": "alice"}).get_json()
        for _ in range(3)
    ]
    assert len({(a["arm"], a["version"]) for a in answers}) == 1
    assert answers[0]["predictions"] == [0] and answers[0]["key"] == "alice"
    by_query = client.post(f"{SPLIT}?key=alice", json=SETOSA).get_json()
    assert by_query["arm"] == answers[0]["arm"]
    record = services_of(flask_app).audit.rows(action="split-predict")[-1]
    assert (record["arm"], record["version"]) == (by_query["arm"], by_query["version"])
    assert record["outputs"] == '{"classes": {"0": 1}}'


def test_both_arms_answer_and_the_traffic_report_counts_them(client, iris_split):
    since = "2000-01-01"
    arms = Counter()
    for i in range(60):
        body = client.post(f"{SPLIT}?key=k{i}", json=[SETOSA, SETOSA]).get_json()
        arms[(body["arm"], body["version"])] += 1
    assert set(arms) == {("Champion", "1"), ("Challenger", "2")}
    report = client.get(f"/api/models/{IRIS_MODEL}/traffic?since={since}").get_json()
    by_arm = {arm["arm"]: arm for arm in report["arms"]}
    assert by_arm["Challenger"]["requests"] >= arms[("Challenger", "2")]
    assert by_arm["Challenger"]["versions"] == ["2"]
    assert by_arm["Champion"]["predictions"]["classes"]["0"] >= 2 * arms[("Champion", "1")]
    assert by_arm["Champion"]["latency_ms"]["p50"] > 0


def test_the_tag_is_re_read_like_an_alias(settings, mlflow_client, caller, iris_split):
    services = build_services(replace(settings, alias_cache_seconds=0), SimpleCache())
    assert services.split.split(caller, IRIS_MODEL).arms[1].weight == 10
    mlflow_client.set_registered_model_tag(IRIS_MODEL, SPLIT_TAG, "Champion:50,Challenger:50")
    assert services.split.split(caller, IRIS_MODEL).arms[1].weight == 50


def test_a_model_without_a_split_says_how_to_set_one(client):
    response = client.post(f"/api/models/{HOUSE_PRICE_MODEL}/split/predict", json={})
    assert response.status_code == 404
    body = response.get_json()
    assert body["error_code"] == "NO_TRAFFIC_SPLIT"
    assert body["message"] == f"{HOUSE_PRICE_MODEL} has no traffic split."


def test_a_bad_tag_answers_409(fresh_services, caller, mlflow_client):
    mlflow_client.set_registered_model_tag(HOUSE_PRICE_MODEL, SPLIT_TAG, "Champion")
    try:
        with pytest.raises(SplitMisconfigured) as raised:
            fresh_services.split.predict(caller, HOUSE_PRICE_MODEL, "k", {})
    finally:
        mlflow_client.delete_registered_model_tag(HOUSE_PRICE_MODEL, SPLIT_TAG)
    assert raised.value.http_status == 409
    assert raised.value.error_code == "TRAFFIC_SPLIT_INVALID"


def test_an_arm_naming_no_version_is_the_owners_to_fix(fresh_services, caller, mlflow_client):
    mlflow_client.set_registered_model_tag(HOUSE_PRICE_MODEL, SPLIT_TAG, "Nobody:1")
    try:
        with pytest.raises(SplitMisconfigured, match="names arm Nobody, which does not exist"):
            row = house_frame(1).to_dict(orient="records")
            fresh_services.split.predict(caller, HOUSE_PRICE_MODEL, "k", row)
    finally:
        mlflow_client.delete_registered_model_tag(HOUSE_PRICE_MODEL, SPLIT_TAG)


def test_a_request_without_a_key_is_a_key_of_its_own():
    assert request_key(None, None) != request_key(None, None)
    assert request_key(" k ", "q") == "k"
    assert TrafficSplit("m", parse_split("m", "7:1").arms).arm_for("x").ref == "7"
