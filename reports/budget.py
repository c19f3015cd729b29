"""Was the budget enough? Two checks, each a cell at a time: more trials (the search may still be improving) and
more epochs (the best trial was still learning when its training stopped).

More trials: the expected-maximum curve (Dodge et al. 2019; reports/expected_max.py) of a cell's completed
trials' validation scores gives the expected best of k trials for every k up to the n it ran. Its rise over the
last doubling, G = E[best of n] - E[best of n // 2], is what the second half of the trials bought. Part of that
rise is seed luck, not better configurations: even n equally good configurations, each scored once with seed
noise of spread s, have a best that rises with n. Under that null (every trial the same configuration) G has
mean s × m_n and standard deviation s × d_n, where m_n and d_n are those of standard normal draws (computed here
by simulation, seeded). The cell is flagged as still improving when
    G - s × m_n  >  ROPE + 1.645 × s × d_n,
i.e. when the rise beyond seed luck exceeds the region of practical equivalence by more than the null's one-sided
95 % point. s is the larger seed spread of validation scores over the cells' re-evaluation runs (the seed
noise of the task; the larger is the conservative choice when 2 seeds estimate it); without re-evaluation runs
the check is not made (the seed noise is unknown) and the verdict says so. Measured by simulation
(tests/benchmarks/bench_verdict.py), the flag fires in at most about 10 % of converged searches (configurations
on their plateau: the true quality of the best one gains less than a quarter of the ROPE from the last doubling)
and in most searches whose last doubling gained several ROPEs.

More epochs: a best trial whose best validation came at its last epoch ended by the epoch cap, not by patience
(which always ends on epochs that did not improve): that is a fact of the trial, not an estimate.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.special import gammaln

MIN_TRIALS = 4  # completed trials a cell needs before the curve's last doubling says anything
Z_ONE_SIDED = 1.645  # the null's one-sided 95 % point
NULL_DRAWS = 4000


def _half_weights(n: int) -> np.ndarray:
    """Weights over the n sorted scores (worst first) whose sum is the unbiased expected best of n // 2 (Tang et al.
    2020, as in reports/expected_max.py)."""
    k = n // 2
    i = np.arange(1, n + 1)
    valid = i >= k
    log_w = gammaln(i) - gammaln(k) - gammaln(np.maximum(i - k, 0) + 1) - (
        gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    return np.where(valid, np.exp(np.where(valid, log_w, 0.0)), 0.0)


def last_doubling_gain(values, maximize: bool = True) -> float:
    """E[best of n] - E[best of n // 2] from n scores, oriented so that a positive gain is an improvement."""
    v = np.sort(np.asarray(values, dtype=float) * (1.0 if maximize else -1.0))
    return float(v[-1] - _half_weights(len(v)) @ v)


@functools.lru_cache(maxsize=256)
def seed_luck(n: int) -> tuple[float, float]:
    """Mean and standard deviation of the last doubling's gain of n standard normal scores: the rise that seed
    noise of spread 1 alone gives."""
    z = np.sort(np.random.default_rng(20190101 + n).standard_normal((NULL_DRAWS, n)), axis=1)
    gains = z[:, -1] - z @ _half_weights(n)
    return float(gains.mean()), float(gains.std())


def still_improving(values, maximize: bool, seed_sd: float, rope: float) -> float | None:
    """The last doubling's gain beyond seed luck when it is large enough to flag (see the module docstring), else
    None; None too with fewer than MIN_TRIALS scores or no seed spread."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < MIN_TRIALS or not np.isfinite(seed_sd):
        return None
    mean, sd = seed_luck(len(values))
    beyond_luck = last_doubling_gain(values, maximize) - seed_sd * mean
    return beyond_luck if beyond_luck > rope + Z_ONE_SIDED * seed_sd * sd else None


def seed_spread(reeval: pd.DataFrame | None, cells: list[str]) -> float:
    """The larger standard deviation of the re-evaluation runs' validation scores over `cells` (nan without two
    runs of any of them)."""
    if reeval is None or "val" not in reeval:
        return float("nan")
    spreads = [reeval.loc[reeval.cell == c, "val"].astype(float).std(ddof=1) for c in cells]
    spreads = [s for s in spreads if np.isfinite(s)]
    return float(max(spreads)) if spreads else float("nan")


def still_learning(best: pd.Series | None) -> int | None:
    """The epochs of a best trial that scored its best at its last one; None otherwise (or without best epochs,
    as in older storages)."""
    if best is not None and pd.notna(best.best_epoch) and best.best_epoch >= best.epochs:
        return int(best.epochs)
    return None
