"""Whether two versions really differ on the same rows.

- McNemar's exact test: only the rows where exactly one version is right say anything about
  which is better; under "no difference" each of them is a fair coin, so the two-sided
  p-value is twice the binomial tail of the smaller count (at most 1).
- A paired Poisson bootstrap: in each of ``REPLICATES`` replicates every row gets a weight
  drawn from Poisson(1) (how often a resample would hold it), so the replicates accumulate
  chunk by chunk without keeping any row. The generator has a fixed seed: the same file
  gives the same interval every time.

For an accuracy difference only the discordant rows move the numerator; every other row
adds only its weight to the total, and the sum of n Poisson(1) weights is one Poisson(n)
draw. So a chunk draws a weight per discordant row and one total for the rest: the same
distribution as a weight per row, at a cost that does not grow with agreeing rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

REPLICATES = 200
SEED = 20_231
BLOCK_ROWS = 4_096  # rows whose weights are drawn at once: bounded memory
LEVELS = 1 << 16


@cache
def poisson_table() -> np.ndarray:
    """Poisson(1) by inverse probability of a 16-bit uniform number: a table lookup per
    weight, several times cheaper than numpy's Poisson sampler (a probability is off by
    < 1/65536)."""
    from scipy.stats import poisson  # about a second to import: with the first evaluation

    cdf = poisson.cdf(np.arange(30), 1.0)
    return np.searchsorted(cdf, (np.arange(LEVELS) + 0.5) / LEVELS, side="right").astype(float)


def mcnemar_exact(only_first_right: int, only_second_right: int) -> float:
    """The two-sided exact p-value of McNemar's test from the two discordant counts."""
    from scipy.stats import binom  # about a second to import: with the first evaluation

    discordant = only_first_right + only_second_right
    if discordant == 0:
        return 1.0
    smaller = min(only_first_right, only_second_right)
    return float(min(1.0, 2 * binom.cdf(smaller, discordant, 0.5)))


def poisson_weights(rng: np.random.Generator, replicates: int, rows: int) -> np.ndarray:
    """Replicates × rows Poisson(1) weights."""
    return poisson_table()[rng.integers(0, LEVELS, (replicates, rows), dtype=np.uint16)]


def interval(replicated: np.ndarray) -> list[float]:
    """The 95 % percentile interval of a statistic over the replicates."""
    low, high = np.percentile(replicated, [2.5, 97.5])
    return [float(low), float(high)]


def _generator() -> np.random.Generator:
    return np.random.default_rng(SEED)


@dataclass
class PairedClasses:
    """Two classifiers on the same rows: the discordant counts and the bootstrap of the
    accuracy difference (second minus first)."""

    replicates: int = REPLICATES
    only_first_right: int = 0
    only_second_right: int = 0
    rng: np.random.Generator = field(default_factory=_generator)
    numerators: np.ndarray = field(init=False)
    totals: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.numerators = np.zeros(self.replicates)
        self.totals = np.zeros(self.replicates)

    def add(self, first_right: np.ndarray, second_right: np.ndarray) -> None:
        gained = second_right & ~first_right
        lost = first_right & ~second_right
        self.only_first_right += int(lost.sum())
        self.only_second_right += int(gained.sum())
        change = (gained.astype(float) - lost.astype(float))[gained | lost]
        for start in range(0, len(change), BLOCK_ROWS):
            block = change[start : start + BLOCK_ROWS]
            weights = poisson_weights(self.rng, self.replicates, len(block))
            self.numerators += weights @ block
            self.totals += weights.sum(axis=1)
        agreeing = len(first_right) - len(change)
        self.totals += self.rng.poisson(agreeing, self.replicates)

    def p_value(self) -> float:
        return mcnemar_exact(self.only_first_right, self.only_second_right)

    def accuracy_interval(self) -> list[float]:
        return interval(self.numerators / np.maximum(self.totals, 1))


@dataclass
class PairedErrors:
    """Two regressors on the same rows: bootstraps of the MAE and RMSE differences (second
    minus first). Every row moves them, so every row draws its weights."""

    replicates: int = REPLICATES
    rng: np.random.Generator = field(default_factory=_generator)
    sums: np.ndarray = field(init=False)  # replicates × (|e2|-|e1|, e1², e2²)
    totals: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.sums = np.zeros((self.replicates, 3))
        self.totals = np.zeros(self.replicates)

    def add(self, truth: np.ndarray, first: np.ndarray, second: np.ndarray) -> None:
        first_error, second_error = first - truth, second - truth
        values = np.column_stack(
            [np.abs(second_error) - np.abs(first_error), first_error**2, second_error**2]
        )
        for start in range(0, len(values), BLOCK_ROWS):
            block = values[start : start + BLOCK_ROWS]
            weights = poisson_weights(self.rng, self.replicates, len(block))
            self.sums += weights @ block
            self.totals += weights.sum(axis=1)

    def _means(self) -> np.ndarray:
        return self.sums / np.maximum(self.totals, 1)[:, None]

    def mae_interval(self) -> list[float]:
        return interval(self._means()[:, 0])

    def rmse_interval(self) -> list[float]:
        means = self._means()
        return interval(np.sqrt(means[:, 2]) - np.sqrt(means[:, 1]))
