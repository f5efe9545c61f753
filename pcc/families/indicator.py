"""Indicator(value): all the mass on one value of a discrete variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import DISCRETE, Family, Params, first_bad

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Indicator(Family):
    name = "indicator"
    params = (("value", 0),)
    integer_params = frozenset({"value"})
    domains = DISCRETE

    def check(self, p: Params, domain: Domain) -> list[str]:
        value = p["value"]
        bad = (value < 0) | ((value >= domain.size) if domain.size is not None else False)
        if np.any(bad):
            return [f"value {first_bad(value, np.asarray(bad))} is outside the variable's "
                    f"domain {domain}"]
        return []

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        return np.where(x[:, None] == p["value"][None, :], 0.0, -np.inf)

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return p["value"].astype(np.float64)

    def support(self, p: Params) -> list[int | None]:
        return [1 << int(v) for v in p["value"]]

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return p["value"][units].astype(np.float64)
