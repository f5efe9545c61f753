"""Exponential(rate) over a real variable: density rate * exp(-rate * x) for x >= 0, 0 below."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import Family, Params, first_bad, log

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Exponential(Family):
    name = "exponential"
    params = (("rate", 0),)
    domains = frozenset({"real"})

    def check(self, p: Params, domain: Domain) -> list[str]:
        rate = p["rate"]
        bad = ~np.isfinite(rate) | (rate <= 0)
        return [f"rate must be finite and > 0, got {first_bad(rate, bad)}"] if bad.any() else []

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        rate = p["rate"][None, :]
        k = x[:, None]
        return np.where(k >= 0, log(rate) - rate * np.where(k >= 0, k, 0.0), -np.inf)

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return np.zeros(len(p["rate"]))

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return rng.exponential(1.0 / p["rate"][units])
