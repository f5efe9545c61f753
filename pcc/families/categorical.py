"""Categorical(probs) over the values 0..k-1 of a discrete variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.families.base import DISCRETE, Family, Params, choose, log, nonnegative

if TYPE_CHECKING:
    from pcc.ir.domains import Domain


class Categorical(Family):
    name = "categorical"
    params = (("probs", 1),)
    domains = DISCRETE

    def check(self, p: Params, domain: Domain) -> list[str]:
        probs = p["probs"]
        problems = nonnegative("probs", probs)
        if domain.size is not None and probs.shape[1] != domain.size:
            problems.append(f"probs has {probs.shape[1]} values but the variable is {domain}")
        return problems

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        probs = p["probs"]
        inside = (x >= 0) & (x < probs.shape[1])
        out = log(probs.T[np.where(inside, x, 0).astype(np.int64)])
        out[~inside] = -np.inf
        return out

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        return np.argmax(p["probs"], axis=1).astype(np.float64)

    def totals(self, p: Params) -> tuple[np.ndarray, str] | None:
        return p["probs"].sum(axis=1), "probs sum"

    def support(self, p: Params) -> list[int | None]:
        return [sum(1 << int(i) for i in np.flatnonzero(row)) for row in p["probs"]]

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        return choose(p["probs"][units], rng)
