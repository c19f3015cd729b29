"""Expected maximum validation performance after k trials (Dodge et al. 2019, "Show Your Work").

With n observed scores sorted so that v_(1) is the worst and v_(n) the best, the expected best of k trials
drawn from them without replacement is the unbiased estimator of Tang et al. (2020, "Showing Your Work
Doesn't Always Work"):  E[max_k] = sum_i v_(i) * C(i-1, k-1) / C(n, k),  for k = 1..n.
(Dodge et al. drew with replacement, which biases the estimate downwards for k near n.) The band is one
standard deviation of the best of k under the same weights. Both assume that trials are independent
draws from the search space: true for random search, not for TPE, whose later trials depend on earlier ones.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def expected_max(values, maximize: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, expected best of k, its standard deviation) for k = 1..n; "best" is the minimum when not maximize."""
    v = np.sort(np.asarray(values, dtype=float))
    if not maximize:
        v = v[::-1]  # the best is last either way
    n = len(v)
    if n == 0:
        empty = np.zeros(0)
        return empty.astype(int), empty, empty
    k = np.arange(1, n + 1)[:, None]  # rows: k
    i = np.arange(1, n + 1)[None, :]  # columns: rank i
    valid = i >= k
    with np.errstate(invalid="ignore"):
        log_w = (gammaln(i) - gammaln(k) - gammaln(np.maximum(i - k, 0) + 1)
                 - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)))
    weights = np.where(valid, np.exp(np.where(valid, log_w, 0.0)), 0.0)
    mean = weights @ v
    second = weights @ (v * v)
    sd = np.sqrt(np.maximum(second - mean * mean, 0.0))
    return k.ravel(), mean, sd
