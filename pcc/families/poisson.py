"""Poisson(rate) over a count variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import Family, Params, log, nonnegative

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Poisson(Family):
    name = "poisson"
    params = (("rate", 0),)
    domains = frozenset({"count"})

    def check(self, p: Params, domain: Domain) -> list[str]:
        return nonnegative("rate", p["rate"])

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        from scipy.special import gammaln  # here: scipy.special takes 0.7 s to import

        rate = p["rate"][None, :]
        k = x[:, None]
        with np.errstate(invalid="ignore"):
            term = np.where(k == 0, 0.0, k * log(rate))
        return term - rate - gammaln(k + 1)

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return np.floor(p["rate"])

    def support(self, p: Params) -> list[int | None]:
        return [1 if r == 0 else None for r in p["rate"].tolist()]  # rate 0: only the value 0

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(p["rate"][units]).astype(np.float64)
