"""Input families: their parameters, the domains they accept, and what makes parameters valid.

Every parameter array has a leading `units` axis. How a family is *evaluated* lives in each
backend; this module only says what a well-formed input group looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pcc.ir.domains import Domain


@dataclass(frozen=True)
class Family:
    """A leaf family: parameter names with their number of trailing axes, and its checks."""

    name: str
    params: tuple[tuple[str, int], ...]
    integer_params: frozenset[str]
    domains: frozenset[str]
    check: Callable[[dict[str, np.ndarray], Domain], list[str]]

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.params)


def _probability(name: str, a: np.ndarray) -> list[str]:
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        return [f"{name} must lie in [0, 1], got {_first_bad(a, (a < 0) | (a > 1) | ~np.isfinite(a))}"]
    return []


def _nonnegative(name: str, a: np.ndarray) -> list[str]:
    bad = ~np.isfinite(a) | (a < 0)
    return [f"{name} must be finite and >= 0, got {_first_bad(a, bad)}"] if bad.any() else []


def _first_bad(a: np.ndarray, bad: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{a[index].item()!r} at {list(index)}"


def _check_bernoulli(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    return _probability("p", p["p"])


def _check_categorical(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    probs = p["probs"]
    problems = _nonnegative("probs", probs)
    if domain.size is not None and probs.shape[1] != domain.size:
        problems.append(f"probs has {probs.shape[1]} values but the variable is {domain}")
    return problems


def _check_indicator(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    value = p["value"]
    bad = (value < 0) | ((value >= domain.size) if domain.size is not None else False)
    if np.any(bad):
        return [f"value {_first_bad(value, np.asarray(bad))} is outside the variable's domain {domain}"]
    return []


def _check_binomial(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    problems = _probability("p", p["p"])
    if np.any(p["n"] < 0):
        problems.append(f"n must be >= 0, got {_first_bad(p['n'], p['n'] < 0)}")
    if domain.size is not None and np.any(p["n"] >= domain.size):
        problems.append(f"n exceeds the variable's domain {domain}")
    return problems


def _check_poisson(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    return _nonnegative("rate", p["rate"])


def _check_gaussian(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    problems = []
    if not np.all(np.isfinite(p["mean"])):
        problems.append(f"mean must be finite, got {_first_bad(p['mean'], ~np.isfinite(p['mean']))}")
    std = p["std"]
    bad = ~np.isfinite(std) | (std <= 0)
    if bad.any():
        problems.append(f"std must be finite and > 0, got {_first_bad(std, bad)}")
    return problems


def _check_histogram(p: dict[str, np.ndarray], domain: Domain) -> list[str]:
    breaks, densities = p["breaks"], p["densities"]
    problems = _nonnegative("densities", densities)
    if breaks.shape[1] != densities.shape[1] + 1:
        problems.append(f"breaks has {breaks.shape[1]} entries per unit, expected "
                        f"{densities.shape[1] + 1} (one more than densities)")
    elif not np.all(np.isfinite(breaks)) or np.any(np.diff(breaks, axis=1) <= 0):
        problems.append("breaks must be finite and strictly increasing")
    return problems


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("bernoulli", (("p", 0),), frozenset(), frozenset({"binary"}), _check_bernoulli),
        Family("categorical", (("probs", 1),), frozenset(),
               frozenset({"binary", "categorical", "count"}), _check_categorical),
        Family("indicator", (("value", 0),), frozenset({"value"}),
               frozenset({"binary", "categorical", "count"}), _check_indicator),
        Family("binomial", (("n", 0), ("p", 0)), frozenset({"n"}),
               frozenset({"binary", "categorical", "count"}), _check_binomial),
        Family("poisson", (("rate", 0),), frozenset(), frozenset({"count"}), _check_poisson),
        Family("gaussian", (("mean", 0), ("std", 0)), frozenset(), frozenset({"real"}),
               _check_gaussian),
        Family("histogram", (("breaks", 1), ("densities", 1)), frozenset(),
               frozenset({"binary", "categorical", "count", "real"}), _check_histogram),
    )
}
"""Every input family pcc knows, by name."""


def family(name: str) -> Family:
    """The family called `name`; raises KeyError with the known names otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown input family {name!r}; known: {', '.join(FAMILIES)}") from None
