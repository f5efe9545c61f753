"""Bernoulli(p) over a binary variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import Family, Params, log, probability

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Bernoulli(Family):
    name = "bernoulli"
    params = (("p", 0),)
    domains = frozenset({"binary"})

    def check(self, p: Params, domain: Domain) -> list[str]:
        return probability("p", p["p"])

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        return np.where(x[:, None] == 1, log(p["p"]), log(1 - p["p"]))

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return (p["p"] > 0.5).astype(np.float64)

    def support(self, p: Params) -> list[int | None]:
        return [1 if q == 0 else 2 if q == 1 else 3 for q in p["p"].tolist()]

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return (rng.random(len(units)) < p["p"][units]).astype(np.float64)
