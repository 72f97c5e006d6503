"""McNemar's exact test and the paired bootstrap, checked by hand: the p-value from the
binomial sums written out, the interval from the same weights drawn and summed in plain
numpy, and the service's counts from the two versions' own predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.access.audit import Source
from services.access.caller import LOCAL_CALLER
from services.evaluation import paired
from services.evaluation.paired import PairedClasses, PairedErrors, mcnemar_exact
from services.evaluation.service import Request
from services.evaluation.verdict import classes_sentence
from services.registry.demo import IRIS_MODEL
from tests.services.evaluation.test_metrics import noisy_iris, raw_model


def hand_mcnemar(b: int, c: int) -> float:
    n, k = b + c, min(b, c)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.mark.parametrize(("b", "c"), [(3, 12), (12, 3), (0, 4), (5, 5), (0, 0), (40, 61)])
def test_mcnemar_is_the_binomial_sum_by_hand(b, c):
    expected = hand_mcnemar(b, c) if b + c else 1.0
    assert mcnemar_exact(b, c) == pytest.approx(expected, abs=1e-12)


def test_the_issue_example_reads_as_the_issue_says():
    p_value = mcnemar_exact(3, 12)
    assert p_value == pytest.approx(2 * (1 + 15 + 105 + 455) / 2**15)  # 0.03515625
    sentence = classes_sentence(["Champion", "Challenger"], 12, 3, 0.02, (0.005, 0.034), p_value)
    assert sentence.startswith(
        "Challenger is right on 12 rows where Champion is wrong and wrong on 3 where Champion "
        "is right: 2.0 points more accurate (95 % CI 0.5 to 3.4), p = 0.0352."
    )
    assert "Challenger is better" in sentence


def test_four_rows_one_way_do_not_read_as_both_chance_and_not():
    """The walk's iris file: Challenger wrong on 4 rows where Champion is right, the
    bootstrap interval below zero, the exact test's p 0.125."""
    p_value = mcnemar_exact(0, 4)
    sentence = classes_sentence(["Champion", "Challenger"], 0, 4, -0.027, (-0.057, -0.006), p_value)
    assert "p = 0.125" in sentence and "This could be chance" not in sentence
    assert "the exact test cannot rule out chance" in sentence
    unsure = classes_sentence(["Champion", "Challenger"], 2, 4, -0.013, (-0.04, 0.013), 0.69)
    assert unsure.endswith("This could be chance: more labelled rows would tell.")


def test_the_accuracy_interval_is_the_weights_summed_by_hand():
    rng = np.random.default_rng(1)
    first = rng.random(5_000) < 0.80
    second = np.where(rng.random(5_000) < 0.1, ~first, first)
    tally = PairedClasses()
    tally.add(first, second)
    # by hand: one Poisson(1) weight per discordant row and replicate, then one Poisson draw
    # for the total weight of the agreeing rows, from the same seeded generator
    draws = np.random.default_rng(paired.SEED)
    discordant = first != second
    change = second[discordant].astype(float) - first[discordant].astype(float)
    uniform = draws.integers(0, paired.LEVELS, (paired.REPLICATES, len(change)), dtype=np.uint16)
    weights = paired.poisson_table()[uniform]
    totals = weights.sum(axis=1) + draws.poisson(5_000 - len(change), paired.REPLICATES)
    replicated = (weights @ change) / totals
    assert tally.accuracy_interval() == list(np.percentile(replicated, [2.5, 97.5]))
    # and it is the interval a normal approximation of the paired difference gives
    d = second.astype(float) - first.astype(float)
    half = 1.96 * d.std() / math.sqrt(len(d))
    low, high = tally.accuracy_interval()
    assert low == pytest.approx(d.mean() - half, abs=0.3 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.3 * half)


def test_poisson_weights_have_the_poisson_mean_and_variance():
    weights = paired.poisson_weights(np.random.default_rng(0), 200, 10_000)
    assert weights.mean() == pytest.approx(1.0, abs=0.01)
    assert weights.var() == pytest.approx(1.0, abs=0.02)


def test_error_intervals_match_a_normal_approximation():
    rng = np.random.default_rng(2)
    truth = rng.normal(100, 10, 20_000)
    first, second = truth + rng.normal(0, 5, 20_000), truth + rng.normal(0, 4, 20_000)
    tally = PairedErrors()
    tally.add(truth, first, second)
    d = np.abs(second - truth) - np.abs(first - truth)
    half = 1.96 * d.std() / math.sqrt(len(d))
    low, high = tally.mae_interval()
    assert low == pytest.approx(d.mean() - half, abs=0.3 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.3 * half)
    _, rmse_high = tally.rmse_interval()
    assert rmse_high < 0  # 4 against 5: clearly closer


def test_champion_against_challenger_counts_the_rows_each_gets_right(chunked):
    X, y = noisy_iris(seed=11)
    request = Request(["Champion", "Challenger"], "species")
    rows = X.assign(species=y).to_dict("records")
    body = chunked.evaluation.evaluate(
        LOCAL_CALLER, IRIS_MODEL, request, rows, source=Source.API
    ).body
    champion = raw_model(chunked, IRIS_MODEL, "Champion").predict(X) == y
    challenger = raw_model(chunked, IRIS_MODEL, "Challenger").predict(X) == y
    b, c = int((champion & ~challenger).sum()), int((challenger & ~champion).sum())
    comparison = body["comparison"]
    assert comparison["between"] == ["Champion", "Challenger"]
    assert comparison["discordant"] == {"only_first_right": b, "only_second_right": c}
    assert comparison["p_value"] == pytest.approx(hand_mcnemar(b, c), abs=1e-12)
    accuracy = comparison["difference"]["accuracy"]
    assert accuracy["value"] == pytest.approx((c - b) / len(X), abs=1e-12)
    assert accuracy["ci95"][0] <= accuracy["value"] <= accuracy["ci95"][1]
    assert comparison["summary"].startswith(
        f"Challenger is right on {c} rows where Champion is wrong and wrong on {b} where"
    )
