"""log p(x | unit) of every input family in float64 numpy: the spec of each family.

Each function takes a group's params and one data column `x` (rows,) with no NaN (the caller
handles missing values) and returns (rows, units) log-probabilities; -inf off the support.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import gammaln

Params = dict[str, np.ndarray]


def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(a)


def bernoulli(p: Params, x: np.ndarray) -> np.ndarray:
    one = x[:, None] == 1
    return np.where(one, _log(p["p"]), _log(1 - p["p"]))


def categorical(p: Params, x: np.ndarray) -> np.ndarray:
    probs = p["probs"]
    k = probs.shape[1]
    inside = (x >= 0) & (x < k)
    index = np.where(inside, x, 0).astype(np.int64)
    out = _log(probs.T[index])
    out[~inside] = -np.inf
    return out


def indicator(p: Params, x: np.ndarray) -> np.ndarray:
    return np.where(x[:, None] == p["value"][None, :], 0.0, -np.inf)


def binomial(p: Params, x: np.ndarray) -> np.ndarray:
    n, q = p["n"][None, :].astype(np.float64), p["p"][None, :]
    k = x[:, None]
    inside = (k >= 0) & (k <= n)
    kk = np.where(inside, k, 0)
    log_choose = gammaln(n + 1) - gammaln(kk + 1) - gammaln(n - kk + 1)
    with np.errstate(invalid="ignore"):
        # 0 * log 0 = 0: a p of 0 or 1 puts all mass on k = 0 or k = n
        a = np.where(kk == 0, 0.0, kk * _log(q))
        b = np.where(n - kk == 0, 0.0, (n - kk) * _log(1 - q))
    return np.where(inside, log_choose + a + b, -np.inf)


def poisson(p: Params, x: np.ndarray) -> np.ndarray:
    rate = p["rate"][None, :]
    k = x[:, None]
    with np.errstate(invalid="ignore"):
        term = np.where(k == 0, 0.0, k * _log(rate))
    return term - rate - gammaln(k + 1)


def gaussian(p: Params, x: np.ndarray) -> np.ndarray:
    mean, std = p["mean"][None, :], p["std"][None, :]
    z = (x[:, None] - mean) / std
    return -0.5 * z * z - np.log(std) - 0.5 * np.log(2 * np.pi)


def histogram(p: Params, x: np.ndarray) -> np.ndarray:
    """Density d_i on [b_i, b_{i+1}); zero outside [b_0, b_last)."""
    breaks, densities = p["breaks"], p["densities"]
    out = np.empty((len(x), breaks.shape[0]))
    for unit in range(breaks.shape[0]):
        bin_index = np.searchsorted(breaks[unit], x, side="right") - 1
        inside = (bin_index >= 0) & (bin_index < densities.shape[1])
        safe = np.clip(bin_index, 0, densities.shape[1] - 1)
        out[:, unit] = np.where(inside, _log(densities[unit][safe]), -np.inf)
    return out


LOG_PROB: dict[str, Callable[[Params, np.ndarray], np.ndarray]] = {
    "bernoulli": bernoulli,
    "categorical": categorical,
    "indicator": indicator,
    "binomial": binomial,
    "poisson": poisson,
    "gaussian": gaussian,
    "histogram": histogram,
}
