"""What SPFlow's object and text frontends share: its leaf types and how they become pcc inputs,
and how each variable's domain is chosen from the leaves over it.

Leaf specs are (kind, var, params) with SPFlow's own parameter names:
Bernoulli(p), Categorical(p=[...]), Gaussian(mean, stdev), Poisson(mean),
Histogram(breaks, densities). Domains (unless the caller gives them): Bernoulli -> binary,
Categorical(k) -> categorical with the largest k over the variable (binary for k <= 2),
Poisson -> count, Gaussian -> real, Histogram alone -> real (it takes any other leaf's domain).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.frontends._text import Records, binary_or_categorical
from pcc.ir import BINARY, COUNT, REAL, Domain, FormatError

LEAVES = {"Bernoulli": ("p",), "Categorical": ("p",), "Gaussian": ("mean", "stdev"),
          "Poisson": ("mean",), "Histogram": ("breaks", "densities")}


def _need(kind: str, params: dict[str, object]) -> tuple[str, int]:
    if kind == "Bernoulli":
        return "discrete", 2
    if kind == "Categorical":
        return "discrete", len(params["p"])  # type: ignore[arg-type]
    if kind == "Poisson":
        return "count", 0
    if kind == "Gaussian":
        return "real", 0
    return "any", 0


def choose_domains(leaves: Sequence[tuple[str, int, dict[str, object], str]],
                   num_vars: int) -> list[Domain]:
    """One domain per variable from the leaves over it (see the module docstring)."""
    kinds: dict[int, tuple[str, int, str]] = {}
    for kind, var, params, origin in leaves:
        need, size = _need(kind, params)
        old = kinds.get(var)
        if old is None or old[0] == "any":
            kinds[var] = (need, size, origin)
        elif need == "any":
            continue
        elif need != old[0]:
            raise FormatError(f"variable {var} has a {kind} leaf ({origin}) and a leaf that "
                              f"needs a {old[0]} domain ({old[2]}); give domains explicitly")
        else:
            kinds[var] = (need, max(size, old[1]), old[2])
    out = []
    for v in range(num_vars):
        need, size, _ = kinds.get(v, ("any", 0, ""))
        out.append({"discrete": lambda: binary_or_categorical(max(size, 2)), "count": lambda: COUNT,
                    "real": lambda: REAL, "any": lambda: REAL}[need]())
    return out


def add_leaf(rec: Records, kind: str, var: int, params: dict[str, object], origin: str,
             domain: Domain) -> int:
    """The pcc input for an SPFlow leaf over a variable with `domain`."""
    try:
        if kind == "Bernoulli":
            p = float(params["p"])  # type: ignore[arg-type]
            if domain == BINARY:
                return rec.input(var, "bernoulli", {"p": p}, origin)
            return _categorical(rec, var, [1 - p, p], origin, domain)
        if kind == "Categorical":
            return _categorical(rec, var, params["p"], origin, domain)
        if kind == "Gaussian":
            return rec.input(var, "gaussian", {"mean": float(params["mean"]),  # type: ignore
                                               "std": float(params["stdev"])}, origin)  # type: ignore
        if kind == "Poisson":
            return rec.input(var, "poisson", {"rate": float(params["mean"])}, origin)  # type: ignore
        breaks = np.asarray(params["breaks"], dtype=np.float64)
        densities = np.asarray(params["densities"], dtype=np.float64)
        if breaks.ndim != 1 or densities.ndim != 1 or len(breaks) != len(densities) + 1:
            raise FormatError(f"{origin}: a histogram needs one more break than densities, got "
                              f"{np.shape(breaks)} breaks and {np.shape(densities)} densities")
        return rec.input(var, "histogram", {"breaks": breaks, "densities": densities}, origin)
    except (TypeError, ValueError) as error:
        raise FormatError(f"{origin}: bad {kind} parameters {params!r}: {error}") from None


def _categorical(rec: Records, var: int, p: object, origin: str, domain: Domain) -> int:
    probs = np.asarray(p, dtype=np.float64)
    if probs.ndim != 1 or len(probs) == 0:
        raise FormatError(f"{origin}: Categorical p must be a non-empty list, got {p!r}")
    size = domain.size or len(probs)
    if len(probs) > size:
        raise FormatError(f"{origin}: Categorical has {len(probs)} values but the variable is "
                          f"{domain}")
    # SPFlow gives probability 1 to a value past the table; pcc gives it 0 (see docs/frontends.md)
    probs = np.concatenate([probs, np.zeros(size - len(probs))])
    return rec.input(var, "categorical", {"probs": probs}, origin)
