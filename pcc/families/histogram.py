"""Histogram(breaks, densities): density d_i on [b_i, b_i+1), zero outside [b_0, b_last).

Over a discrete domain each integer in a bin has the bin's density as its probability; over the
reals a value is drawn uniformly inside a bin chosen by mass (density x width), and the mode is
the middle of the densest bin (over a discrete domain: the first integer of the densest bin
that holds one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import Family, Params, choose, log, nonnegative

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Histogram(Family):
    name = "histogram"
    params = (("breaks", 1), ("densities", 1))
    domains = frozenset({"binary", "categorical", "count", "real"})

    def check(self, p: Params, domain: Domain) -> list[str]:
        breaks, densities = p["breaks"], p["densities"]
        problems = nonnegative("densities", densities)
        if breaks.shape[1] != densities.shape[1] + 1:
            problems.append(f"breaks has {breaks.shape[1]} entries per unit, expected "
                            f"{densities.shape[1] + 1} (one more than densities)")
        elif not np.all(np.isfinite(breaks)) or np.any(np.diff(breaks, axis=1) <= 0):
            problems.append("breaks must be finite and strictly increasing")
        return problems

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        breaks, densities = p["breaks"], p["densities"]
        out = np.empty((len(x), breaks.shape[0]))
        for unit in range(breaks.shape[0]):
            bin_index = np.searchsorted(breaks[unit], x, side="right") - 1
            inside = (bin_index >= 0) & (bin_index < densities.shape[1])
            safe = np.clip(bin_index, 0, densities.shape[1] - 1)
            out[:, unit] = np.where(inside, log(densities[unit][safe]), -np.inf)
        return out

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        breaks, densities = p["breaks"], p["densities"]
        if discrete:
            points = np.ceil(breaks[:, :-1])           # the first integer of each bin
            logv = np.where(points < breaks[:, 1:], log(densities), -np.inf)
        else:
            points, logv = (breaks[:, :-1] + breaks[:, 1:]) / 2, log(densities)
        return points[np.arange(len(points)), np.argmax(logv, axis=1)]

    def totals(self, p: Params) -> tuple[np.ndarray, str] | None:
        breaks, densities = p["breaks"], p["densities"]
        if breaks.shape[1] != densities.shape[1] + 1:
            return None  # not well-formed; verify() reports it
        return (densities * np.diff(breaks, axis=1)).sum(axis=1), "densities x bin widths sum"

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        breaks, densities = p["breaks"][units], p["densities"][units]
        rows = np.arange(len(units))
        if discrete:
            low, high = np.ceil(breaks[:, :-1]), np.ceil(breaks[:, 1:])  # integers in [b_i, b_i+1)
            counts = np.maximum(high - low, 0)
            bins = choose(densities * counts, rng).astype(np.int64)
            return low[rows, bins] + np.floor(rng.random(len(units)) * counts[rows, bins])
        widths = np.diff(breaks, axis=1)
        bins = choose(densities * widths, rng).astype(np.int64)
        return breaks[rows, bins] + rng.random(len(units)) * widths[rows, bins]
