"""What an input family is, in float64 numpy: the spec that every backend is tested against.

A family names its parameters (each with a leading `units` axis and a number of trailing axes),
the domain kinds it can model, and owns four functions of a group's parameters `p`:

- `check(p, domain)`: the problems that make them invalid (a list of messages, empty if none);
- `log_prob(p, x)`: (rows, units) log p(x | unit) for a data column `x` (rows,) without NaN
  (the caller handles missing values); -inf off the support;
- `mode(p, discrete)`: per unit, the most probable value (ties: the smallest one);
- `sample(p, discrete, units, rng)`: one draw from each unit listed in `units`;

and two that analyses ask, with defaults for families that need nothing more:

- `totals(p)`: per unit, what must equal 1 for the distribution to be normalized, and what it
  is called (None: normalized by construction), for `pcc.analysis.normalization`;
- `support(p)`: per unit, the values of non-zero probability as a bitmask (None: unknown or
  unbounded), for `pcc.analysis.determinism`.

`discrete` says whether the variable's domain is discrete (only histograms differ by it). The
torch side of each family lives in `pcc.backends.torch.families`, under the same name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:  # pcc.ir imports the families: no import of pcc.ir at run time
    from pcc.ir.domains import Domain

Params = dict[str, np.ndarray]


class Family:
    """One input family; subclasses fill in the class attributes and the four functions."""

    name: ClassVar[str]
    params: ClassVar[tuple[tuple[str, int], ...]]    # (parameter, trailing axes)
    integer_params: ClassVar[frozenset[str]] = frozenset()
    domains: ClassVar[frozenset[str]]                  # the Domain kinds it accepts

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.params)

    def check(self, p: Params, domain: Domain) -> list[str]:
        raise NotImplementedError

    def log_prob(self, p: Params, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mode(self, p: Params, discrete: bool) -> np.ndarray:
        raise NotImplementedError

    def sample(self, p: Params, discrete: bool, units: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def totals(self, p: Params) -> tuple[np.ndarray, str] | None:
        return None

    def support(self, p: Params) -> list[int | None]:
        return [None] * len(next(iter(p.values())))

    def __repr__(self) -> str:
        return f"<family {self.name}>"


DISCRETE = frozenset({"binary", "categorical", "count"})


def log(a: np.ndarray) -> np.ndarray:
    """log with log 0 = -inf and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(a)


def choose(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row, drawn in proportion to the row's non-negative weights."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    index = (cumulative <= u[:, None]).sum(axis=1)
    return np.minimum(index, weights.shape[1] - 1).astype(np.float64)


# -- checks shared by several families -----------------------------------------------------------
def first_bad(a: np.ndarray, bad: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{a[index].item()!r} at {list(index)}"


def probability(name: str, a: np.ndarray) -> list[str]:
    bad = (a < 0) | (a > 1) | ~np.isfinite(a)
    return [f"{name} must lie in [0, 1], got {first_bad(a, bad)}"] if bad.any() else []


def nonnegative(name: str, a: np.ndarray) -> list[str]:
    bad = ~np.isfinite(a) | (a < 0)
    return [f"{name} must be finite and >= 0, got {first_bad(a, bad)}"] if bad.any() else []
