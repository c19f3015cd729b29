"""The interval of the verdict: Welch's t interval for a difference of two means, corrected for repeated looks.

Why Welch. Each cell's re-evaluation runs are a handful of seeds (2 to 10) of one configuration, and the two cells'
seed spreads differ (in the default sentiment study the GRU's test accuracy spreads 1.6 points a seed, the
LSTM's 0.62). Welch's interval, mean difference ± t(df) × sqrt(s_a²/n_a + s_b²/n_b) with the Welch-Satterthwaite
degrees of freedom, needs neither equal spreads nor large samples: measured by simulation through the report
(tests/benchmarks/bench_verdict.py) it covers 0.94 - 0.98 from 2 seeds a cell up, for equal and unequal spreads.
A percentile bootstrap cannot: 3 values have 10 distinct resamples, and its "95 %" interval covered 0.70 - 0.76
there. The t interval assumes seed scores roughly normal around the configuration's mean, which is what the
benchmark draws; a cell with a seed that diverged (a score far off the others) widens its interval, as it should.

Repeated looks. Adaptive re-evaluation (search.reeval_seeds=auto) trains seeds in rounds and stops when the
verdict is decided, so the interval is looked at several times (at 2, 4, 6 seeds a cell by default). An interval
looked at K times and stopped on when it looks decided misses more often than a single one. The fix here is
Bonferroni's: each look's interval is computed at confidence 1 - (1 - level) / K, so that the chance that any of
the K intervals misses, and hence the one the search stopped at, is at most 1 - level whatever the stopping rule.
It is conservative (a group-sequential boundary, Pocock's or O'Brien-Fleming's, is a little narrower for the same
K) and needs nothing but K, which is stored with the runs (search/reeval.py, `reeval_looks`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special  # Student's t and the normal as scipy.stats computes them, without its import


class Interval(NamedTuple):
    effect: float  # mean of a minus mean of b
    low: float
    high: float
    p_other: float  # one-sided p-value that the cell the effect does not favour is at least as good
    se: float  # standard error of the effect
    df: float  # Welch-Satterthwaite degrees of freedom
    level: float  # the confidence each look's interval was computed at


def look_level(confidence: float, looks: int) -> float:
    """The confidence of each of `looks` intervals whose union covers at `confidence` (Bonferroni)."""
    return 1.0 - (1.0 - confidence) / max(1, looks)


def welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom; between min(n) - 1 and n_a + n_b - 2."""
    qa, qb = var_a / n_a, var_b / n_b
    denominator = qa * qa / (n_a - 1) + qb * qb / (n_b - 1)
    return (qa + qb) ** 2 / denominator if denominator > 0 else float(n_a + n_b - 2)


def interval(a, b, confidence: float, looks: int = 1) -> Interval:
    """Welch's interval for mean(a) - mean(b), each look at the Bonferroni level for `looks` looks."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's interval needs at least 2 values per sample")
    effect = float(a.mean() - b.mean())
    var_a, var_b = float(a.var(ddof=1)), float(b.var(ddof=1))
    se = math.sqrt(var_a / len(a) + var_b / len(b))
    df = welch_df(var_a, len(a), var_b, len(b))
    level = look_level(confidence, looks)
    if se == 0:  # every seed of both cells scored the same: the difference is known exactly
        p_other = 0.0 if effect != 0 else 0.5
        return Interval(effect, effect, effect, p_other, 0.0, df, level)
    half = float(special.stdtrit(df, 0.5 + level / 2)) * se
    p_other = float(special.stdtr(df, -abs(effect) / se))
    return Interval(effect, effect - half, effect + half, p_other, se, df, level)


def seed_looks(max_seeds: int) -> list[int]:
    """The seed counts a cell at which adaptive re-evaluation looks: 2, 4, 8, ... below the cap, then the cap."""
    looks, n = [], 2
    while n < max_seeds:
        looks.append(n)
        n *= 2
    return [*looks, max_seeds]


def seeds_needed(sd_a: float, sd_b: float, effect: float, rope: float, confidence: float, looks: list[int],
                 cap: int = 100_000) -> int | None:
    """Seeds a cell (the same for both) at which the interval, at these spreads and this effect, would lie wholly
    outside the ROPE (|effect| > rope) or wholly inside it (|effect| < rope), counting the looks already taken
    (`looks`) and those an adaptive re-evaluation up to that many seeds adds; None when the effect sits on the
    ROPE's edge or more than `cap` seeds would be needed. An estimate: the spreads and the effect are themselves
    estimated from the seeds so far."""
    margin = abs(abs(effect) - rope)
    spread = math.hypot(sd_a, sd_b)
    if margin <= 0 or not np.isfinite(spread):
        return None
    if spread == 0:
        return 2
    level = look_level(confidence, len(looks) + 1)  # at least one look more than now: a lower bound on n
    n = max(2, math.ceil((special.ndtri(0.5 + level / 2) * spread / margin) ** 2))
    while n <= cap:  # t's quantile exceeds the normal's, and more looks widen it: never fewer than the guess
        level = look_level(confidence, len(set(looks) | set(seed_looks(n))))
        if special.stdtrit(welch_df(sd_a ** 2, n, sd_b ** 2, n), 0.5 + level / 2) * spread / math.sqrt(n) < margin:
            return n
        n += 1 if n < 1000 else n // 1000
    return None
