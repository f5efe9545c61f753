"""Binomial(n, p): successes in n trials, over a discrete variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import DISCRETE, Family, Params, first_bad, log, probability

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Binomial(Family):
    name = "binomial"
    params = (("n", 0), ("p", 0))
    integer_params = frozenset({"n"})
    domains = DISCRETE

    def check(self, p: Params, domain: Domain) -> list[str]:
        problems = probability("p", p["p"])
        if np.any(p["n"] < 0):
            problems.append(f"n must be >= 0, got {first_bad(p['n'], p['n'] < 0)}")
        if domain.size is not None and np.any(p["n"] >= domain.size):
            problems.append(f"n exceeds the variable's domain {domain}")
        return problems

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        from scipy.special import gammaln  # here: scipy.special takes 0.7 s to import

        n, q = p["n"][None, :].astype(np.float64), p["p"][None, :]
        k = x[:, None]
        inside = (k >= 0) & (k <= n)
        kk = np.where(inside, k, 0)
        log_choose = gammaln(n + 1) - gammaln(kk + 1) - gammaln(n - kk + 1)
        with np.errstate(invalid="ignore"):
            # 0 * log 0 = 0: a p of 0 or 1 puts all mass on k = 0 or k = n
            a = np.where(kk == 0, 0.0, kk * log(q))
            b = np.where(n - kk == 0, 0.0, (n - kk) * log(1 - q))
        return np.where(inside, log_choose + a + b, -np.inf)

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        n = p["n"].astype(np.float64)
        return np.clip(np.floor((n + 1) * p["p"]), 0, n)

    def support(self, p: Params) -> list[int | None]:
        return [1 if q == 0 else (1 << n) if q == 1 else (1 << (n + 1)) - 1
                for n, q in zip(p["n"].tolist(), p["p"].tolist())]

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return rng.binomial(p["n"][units], p["p"][units]).astype(np.float64)
