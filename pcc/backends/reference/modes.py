"""Each input family's mode and sampler in float64 numpy: the spec for MPE and sampling.

`mode(params)` returns, per unit, the most probable value and its log-probability (log-density
for real variables). `sample(params, units, rng)` draws one value for each requested unit index.
Histograms over discrete domains give each integer in a bin the bin's density as probability;
over the reals a value is drawn uniformly inside a bin chosen by mass (density x width), and the
mode is the middle of the densest bin.
"""

from __future__ import annotations

import numpy as np

from pcc.backends.reference.families import Params, _log
from pcc.ir.domains import Domain


def _binomial_mode(p: Params) -> np.ndarray:
    n, q = p["n"].astype(np.float64), p["p"]
    return np.clip(np.floor((n + 1) * q), 0, n)


def _poisson_mode(p: Params) -> np.ndarray:
    return np.floor(p["rate"])


def _histogram_points(p: Params, discrete: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per unit and bin: the mode candidate (middle, or first integer) and its log-value."""
    breaks, densities = p["breaks"], p["densities"]
    if discrete:
        first = np.ceil(breaks[:, :-1])
        has_integer = first < breaks[:, 1:]
        return first, np.where(has_integer, _log(densities), -np.inf)
    return (breaks[:, :-1] + breaks[:, 1:]) / 2, _log(densities)


def mode(family: str, p: Params, domain: Domain) -> np.ndarray:
    """The most probable value of every unit (ties: the smallest value)."""
    if family == "bernoulli":
        return (p["p"] > 0.5).astype(np.float64)
    if family == "categorical":
        return np.argmax(p["probs"], axis=1).astype(np.float64)
    if family == "indicator":
        return p["value"].astype(np.float64)
    if family == "binomial":
        return _binomial_mode(p)
    if family == "poisson":
        return _poisson_mode(p)
    if family == "gaussian":
        return p["mean"].astype(np.float64)
    points, logv = _histogram_points(p, domain.discrete)
    return points[np.arange(len(points)), np.argmax(logv, axis=1)]


def sample(family: str, p: Params, domain: Domain, units: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """One draw from each unit listed in `units` (an index array)."""
    if family == "bernoulli":
        return (rng.random(len(units)) < p["p"][units]).astype(np.float64)
    if family == "categorical":
        return _choose(p["probs"][units], rng)
    if family == "indicator":
        return p["value"][units].astype(np.float64)
    if family == "binomial":
        return rng.binomial(p["n"][units], p["p"][units]).astype(np.float64)
    if family == "poisson":
        return rng.poisson(p["rate"][units]).astype(np.float64)
    if family == "gaussian":
        return rng.normal(p["mean"][units], p["std"][units])
    breaks, densities = p["breaks"][units], p["densities"][units]
    if domain.discrete:
        low, high = np.ceil(breaks[:, :-1]), np.ceil(breaks[:, 1:])  # integers in [b_i, b_i+1)
        counts = np.maximum(high - low, 0)
        bins = _choose(densities * counts, rng).astype(np.int64)
        rows = np.arange(len(units))
        return low[rows, bins] + np.floor(rng.random(len(units)) * counts[rows, bins])
    widths = np.diff(breaks, axis=1)
    bins = _choose(densities * widths, rng).astype(np.int64)
    rows = np.arange(len(units))
    return breaks[rows, bins] + rng.random(len(units)) * widths[rows, bins]


def _choose(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row, drawn in proportion to the row's non-negative weights."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    index = (cumulative <= u[:, None]).sum(axis=1)
    return np.minimum(index, weights.shape[1] - 1).astype(np.float64)

