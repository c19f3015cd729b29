"""Was the budget enough? Two checks, each a cell at a time: more trials (the search may still be improving) and
more epochs (the best trial was still learning when its training stopped).

More trials: the best-so-far curve of a cell's completed trials' validation scores, in the order the search ran
them, over its last doubling: G = best of all n - best of the first n // 2. Its expectation over independent
draws is the expected-maximum curve's rise from n // 2 to n (Dodge et al. 2019; reports/expected_max.py), and
taken in the search's order it also sees a sampler that is still climbing (TPE's later trials depend on its
earlier ones; the order-free expected maximum averages that away). Part of any rise is seed luck, not better
configurations: even n equally good configurations, each scored once with seed noise of spread s, have a best
that rises with n. Under that null G has mean s × m_n and standard deviation s × d_n, m_n and d_n being those of
standard normal draws (computed here by simulation, seeded). A cell is flagged as still improving when
    G - s × m_n  >  ROPE + t × s × d_n,
i.e. when the rise beyond seed luck exceeds the region of practical equivalence by more than the null's one-sided
95 % point, t being Student's 95 % quantile at the degrees of freedom of s (seeds - 1: a spread estimated from
3 seeds is often too small, and t = 2.92 there, 2.02 at 6 seeds, makes up for it). s is the larger seed spread of
validation scores over the cells' re-evaluation runs (the task's seed noise; the larger is the conservative
choice); without re-evaluation runs the check is not made (the seed noise is unknown) and the verdict says so.
Measured by simulation (tests/benchmarks/bench_verdict.py; its README has the table), it fires on a few % of
converged searches (configurations on their plateau) and more often the faster a search still climbs; it is
deliberately slow to cry wolf, since the seed noise it discounts is itself estimated from a few seeds.

More epochs: a best trial whose best validation came at its last epoch ended by the epoch cap, not by patience
(which always ends on epochs that did not improve): that is a fact of the trial, not an estimate.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import special  # Student's t and the normal as scipy.stats computes them, without its import

MIN_TRIALS = 4  # completed trials a cell needs before its last doubling says anything
ONE_SIDED = 0.95  # the null's point beyond which a rise is flagged
NULL_DRAWS = 4000


def last_doubling_gain(values, maximize: bool = True) -> float:
    """Best of all the scores minus best of the first half (in the order given), positive when it improved."""
    v = np.asarray(values, dtype=float) * (1.0 if maximize else -1.0)
    return float(v.max() - v[: len(v) // 2].max())


@functools.lru_cache(maxsize=256)
def seed_luck(n: int) -> tuple[float, float]:
    """Mean and standard deviation of the last doubling's gain of n standard normal scores: the rise that seed
    noise of spread 1 alone gives."""
    z = np.random.default_rng(20190101 + n).standard_normal((NULL_DRAWS, n))
    gains = z.max(axis=1) - z[:, : n // 2].max(axis=1)
    return float(gains.mean()), float(gains.std())


def still_improving(values, maximize: bool, seed_sd: float, seed_df: int, rope: float) -> float | None:
    """The last doubling's gain beyond seed luck when it is large enough to flag (see the module docstring), else
    None; None too with fewer than MIN_TRIALS scores or no seed spread. `values` in the order the trials ran."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < MIN_TRIALS or not np.isfinite(seed_sd):
        return None
    mean, sd = seed_luck(len(values))
    beyond_luck = last_doubling_gain(values, maximize) - seed_sd * mean
    return beyond_luck if beyond_luck > rope + special.stdtrit(seed_df, ONE_SIDED) * seed_sd * sd else None


def seed_spread(reeval: pd.DataFrame | None, cells: list[str]) -> tuple[float, int]:
    """The larger standard deviation of the re-evaluation runs' validation scores over `cells`, and its degrees of
    freedom (nan, 0 without two runs of any of them)."""
    if reeval is None or "val" not in reeval:
        return float("nan"), 0
    spreads = []
    for c in cells:
        val = reeval.loc[reeval.cell == c, "val"].astype(float).dropna()
        if len(val) >= 2:
            spreads.append((float(val.std(ddof=1)), len(val) - 1))
    return max(spreads) if spreads else (float("nan"), 0)


def still_learning(best: pd.Series | None) -> int | None:
    """The epochs of a best trial that scored its best at its last one; None otherwise (or without best epochs,
    as in older storages)."""
    if best is not None and pd.notna(best.best_epoch) and best.best_epoch >= best.epochs:
        return int(best.epochs)
    return None
