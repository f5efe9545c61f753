"""Gaussian(mean, std) over a real variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import Family, Params, first_bad

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Gaussian(Family):
    name = "gaussian"
    params = (("mean", 0), ("std", 0))
    domains = frozenset({"real"})

    def check(self, p: Params, domain: Domain) -> list[str]:
        problems = []
        mean = p["mean"]
        if not np.all(np.isfinite(mean)):
            problems.append(f"mean must be finite, got {first_bad(mean, ~np.isfinite(mean))}")
        std = p["std"]
        bad = ~np.isfinite(std) | (std <= 0)
        if bad.any():
            problems.append(f"std must be finite and > 0, got {first_bad(std, bad)}")
        return problems

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        mean, std = p["mean"][None, :], p["std"][None, :]
        z = (x[:, None] - mean) / std
        return -0.5 * z * z - np.log(std) - 0.5 * np.log(2 * np.pi)

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return p["mean"].astype(np.float64)

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return rng.normal(p["mean"][units], p["std"][units])
