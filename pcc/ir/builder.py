"""`CircuitBuilder`: write a circuit by hand. Each method adds one group and returns its id.

    b = CircuitBuilder([BINARY, REAL])
    x = b.bernoulli(0, p=[0.25, 0.75])
    y = b.gaussian(1, mean=[0.0, 1.0], std=[1.0, 2.0])
    root = b.sum([b.product([x, y], mode="kronecker")], weights=[[0.1, 0.2, 0.3, 0.4]])
    circuit = b.build()
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.ir.circuit import Circuit
from pcc.ir.domains import Domain
from pcc.ir.groups import Group, Input, Product, Sum


class CircuitBuilder:
    """Collects groups in the order they are added (children must exist before parents)."""

    def __init__(self, domains: Sequence[Domain | str]):
        self.domains = [d if isinstance(d, Domain) else Domain.parse(d) for d in domains]
        self.groups: list[Group] = []

    def _add(self, group: Group) -> int:
        self.groups.append(group)
        return group.id

    @property
    def _next(self) -> int:
        return len(self.groups)

    def units(self, id: int) -> int:
        return self.groups[id].units

    # -- inputs -----------------------------------------------------------------------------
    def input(self, var: int, family: str, origin: str | None = None, **params: object) -> int:
        """An input group; scalars become one unit, 1-d arrays give one entry per unit."""
        arrays = {k: np.asarray(v) for k, v in params.items()}
        units = _units_of(family, arrays)
        arrays = {k: v.reshape((units,) + v.shape[v.ndim - _trailing(family, k):])
                  if v.ndim == _trailing(family, k) else v for k, v in arrays.items()}
        return self._add(Input(self._next, units, var, family, arrays, origin))

    def bernoulli(self, var: int, p: object, **kw: object) -> int:
        return self.input(var, "bernoulli", p=p, **kw)  # type: ignore[arg-type]

    def categorical(self, var: int, probs: object, **kw: object) -> int:
        return self.input(var, "categorical", probs=probs, **kw)  # type: ignore[arg-type]

    def indicator(self, var: int, value: object, **kw: object) -> int:
        return self.input(var, "indicator", value=value, **kw)  # type: ignore[arg-type]

    def binomial(self, var: int, n: object, p: object, **kw: object) -> int:
        return self.input(var, "binomial", n=n, p=p, **kw)  # type: ignore[arg-type]

    def poisson(self, var: int, rate: object, **kw: object) -> int:
        return self.input(var, "poisson", rate=rate, **kw)  # type: ignore[arg-type]

    def gaussian(self, var: int, mean: object, std: object, **kw: object) -> int:
        return self.input(var, "gaussian", mean=mean, std=std, **kw)  # type: ignore[arg-type]

    def histogram(self, var: int, breaks: object, densities: object, **kw: object) -> int:
        return self.input(var, "histogram", breaks=breaks, densities=densities,
                          **kw)  # type: ignore[arg-type]

    # -- inner groups -----------------------------------------------------------------------
    def product(self, children: Sequence[int], mode: str = "hadamard",
                origin: str | None = None) -> int:
        """Hadamard (units of the children) or Kronecker (product of the children's units)."""
        sizes = [self.units(c) for c in children] or [1]
        units = int(np.prod(sizes)) if mode == "kronecker" else sizes[0]
        return self._add(Product(self._next, units, tuple(children), mode, origin))

    def sum(self, children: Sequence[int], weights: object, mode: str = "dense",
            origin: str | None = None) -> int:
        """A dense sum (weights: units x total child units) or a mixing sum (units x children).
        A 1-d weight vector makes a one-unit sum."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim == 1:
            w = w[None, :]
        return self._add(Sum(self._next, w.shape[0], tuple(children), w, mode, origin))

    def mixture(self, children: Sequence[int], weights: object, origin: str | None = None) -> int:
        """A mixing sum: unit k is a convex combination of unit k of each child."""
        w = np.asarray(weights, dtype=np.float64)
        units = self.units(children[0]) if children else 1
        if w.ndim == 1:
            w = np.broadcast_to(w, (units, len(w)))
        return self.sum(children, w, mode="mixing", origin=origin)

    def build(self, root: int | None = None) -> Circuit:
        """The circuit of every group reachable from `root` (default: the last one added),
        renumbered in order so that the root is last."""
        root = len(self.groups) - 1 if root is None else root
        return Circuit(_reachable(self.groups, root), self.domains)


def _trailing(family: str, param: str) -> int:
    from pcc.families.table import family as get

    return dict(get(family).params).get(param, 0)


def _units_of(family: str, arrays: dict[str, np.ndarray]) -> int:
    for name, a in arrays.items():
        if a.ndim > _trailing(family, name):
            return int(a.shape[0])
    return 1


def _reachable(groups: list[Group], root: int) -> list[Group]:
    """Groups reachable from `root`, renumbered to consecutive ids in their original order."""
    if not 0 <= root < len(groups):
        raise ValueError(f"root #{root} does not exist")
    keep = np.zeros(len(groups), dtype=bool)
    keep[root] = True
    for group in reversed(groups[: root + 1]):
        if keep[group.id]:
            keep[[c for c in group.children if 0 <= c < len(groups)]] = True
    if keep[: root + 1].all() and root == len(groups) - 1:
        return list(groups)
    new_id = np.cumsum(keep) - 1
    return [renumber(g, int(new_id[g.id]), [int(new_id[c]) for c in g.children])
            for g in groups[: root + 1] if keep[g.id]]


def renumber(group: Group, id: int, children: Sequence[int]) -> Group:
    """A copy of `group` with a new id and new child ids."""
    if isinstance(group, Input):
        return Input(id, group.units, group.var, group.family, group.params, group.origin)
    if isinstance(group, Product):
        return Product(id, group.units, tuple(children), group.mode, group.origin)
    return Sum(id, group.units, tuple(children), group.weights, group.mode, group.origin)
