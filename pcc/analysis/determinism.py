"""A sound, sufficient check of determinism: "yes" when proved, otherwise "unknown".

A sum unit is deterministic when its children with non-zero weight have pairwise disjoint
supports. Disjointness is proved unit by unit, recursively:
- two input units on the same variable are disjoint when their supports are (an indicator is
  its value; bernoulli with p in {0, 1}, a categorical with zero probabilities, a degenerate
  binomial or poisson have finite supports; gaussians and histograms are never used as proof);
- a product unit is disjoint from x when one of its children is (its support lies inside
  each child's); two products whose children pair up by scope compare the pairs;
- a sum unit is disjoint from x when all its children with non-zero weight are;
- units over disjoint scopes are never proved disjoint.
Results are memoized on (group, unit) pairs, and the proof gives up ("unknown") after a work
budget, so huge circuits stay fast. The report names the first sum it could not prove.
"""

from __future__ import annotations

import sys

import numpy as np

from pcc.analysis.report import Report, Unproved
from pcc.families import family
from pcc.ir import Circuit, Input, Product, Sum

BUDGET = 1_000_000  # disjointness steps before giving up: a few seconds at most
MAX_RECURSION = 100_000
Unit = tuple[int, int]  # (group id, unit index)


class _OutOfBudget(Exception):
    pass


class _Prover:
    """Units are ints: `offset[g] + u` is unit u of group g (cheap to hash and compare)."""

    def __init__(self, circuit: Circuit, budget: int):
        self.circuit = circuit
        self.masks = circuit.scope_masks
        self.kinds = [g.kind for g in circuit.groups]
        units = np.array([g.units for g in circuit.groups], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(units)[:-1]]).astype(np.int64).tolist()
        self.group_of = np.repeat(np.arange(len(units)), units).tolist()
        self.count = int(units.sum())
        self.budget = self.total = budget
        self.memo: dict[int, bool] = {}
        self.kids: dict[int, list[tuple[int, ...]]] = {}
        self.supports: dict[int, list[int | None]] = {}

    def unit(self, uid: int) -> tuple[int, int]:
        g = self.group_of[uid]
        return g, uid - self.offset[g]

    def children(self, uid: int) -> tuple[int, ...]:
        """The child units of a sum unit (non-zero weight) or product unit."""
        g = self.group_of[uid]
        if g not in self.kids:
            group = self.circuit.groups[g]
            if isinstance(group, Input):
                raise TypeError(f"input #{g} has no child units")
            self.kids[g] = [tuple(self.offset[c] + u for c, u in kids)
                            for kids in _unit_children(self.circuit, group)]
        return self.kids[g][uid - self.offset[g]]

    def support(self, uid: int) -> int | None:
        g = self.group_of[uid]
        if g not in self.supports:
            group = self.circuit.groups[g]
            if not isinstance(group, Input):
                raise TypeError(f"{group.kind} #{g} is not an input")
            self.supports[g] = family(group.family).support(dict(group.params))
        return self.supports[g][uid - self.offset[g]]

    def disjoint(self, a: int, b: int) -> bool:
        # free answers first (no budget, no memo): a unit meets itself (unless it is zero,
        # which we do not try to prove), and units over disjoint scopes always meet
        if a == b or not self.masks[self.group_of[a]] & self.masks[self.group_of[b]]:
            return False
        key = a * self.count + b if a < b else b * self.count + a
        known = self.memo.get(key)
        if known is not None:
            return known
        self.budget -= 1
        if self.budget < 0:
            raise _OutOfBudget
        result = self._disjoint(a, b)
        self.memo[key] = result
        return result

    def _disjoint(self, a: int, b: int) -> bool:
        kind_a, kind_b = self.kinds[self.group_of[a]], self.kinds[self.group_of[b]]
        # plain loops, not all()/any() over generators: Python-to-Python calls do not grow
        # the C stack, so a raised recursion limit is safe for deep circuits
        if kind_a == "sum":
            for c in self.children(a):
                if not self.disjoint(c, b):
                    return False
            return True
        if kind_b == "sum":
            for c in self.children(b):
                if not self.disjoint(a, c):
                    return False
            return True
        if kind_a == "product" and kind_b == "product":
            # children over the same scope pair up (always, in a structured circuit): compare
            # partners only; comparing a child with the whole other product instead costs
            # quadratic work along chains of products
            masks, group_of = self.masks, self.group_of
            kids_a, kids_b = self.children(a), self.children(b)
            partner = {masks[group_of[d]]: d for d in kids_b}
            pairs = sorted((masks[group_of[c]].bit_count(), c, partner[masks[group_of[c]]])
                           for c in kids_a if masks[group_of[c]] in partner)
            paired = len(pairs)
            for _, c, d in pairs:  # narrow scopes first: their proofs are cheaper
                if self.disjoint(c, d):
                    return True
            if paired == len(kids_a) == len(kids_b) == len(partner):
                return False  # the one-sided rule below would only meet the same pairs
        if kind_a == "product":
            for c in self.children(a):
                if self.disjoint(c, b):
                    return True
            return False
        if kind_b == "product":
            for c in self.children(b):
                if self.disjoint(a, c):
                    return True
            return False
        sa, sb = self.support(a), self.support(b)
        return sa is not None and sb is not None and sa & sb == 0


def _unit_children(circuit: Circuit, group: Sum | Product) -> list[tuple[Unit, ...]]:
    if isinstance(group, Product):
        if group.mode == "hadamard":
            return [tuple((c, u) for c in group.children) for u in range(group.units)]
        sizes = [circuit.groups[c].units for c in group.children]
        index = np.unravel_index(np.arange(group.units), sizes)  # row-major: first slowest
        return [tuple((c, int(index[i][u])) for i, c in enumerate(group.children))
                for u in range(group.units)]
    w = group.weights
    if group.mode == "mixing":
        return [tuple((group.children[i], u) for i in np.flatnonzero(w[u]))
                for u in range(group.units)]
    sizes = [circuit.groups[c].units for c in group.children]
    column_group = np.repeat(np.array(group.children), sizes)
    column_unit = np.concatenate([np.arange(s) for s in sizes])
    out = []
    for u in range(group.units):
        cols = np.flatnonzero(w[u])
        out.append(tuple(zip(column_group[cols].tolist(), column_unit[cols].tolist())))
    return out


def determinism(circuit: Circuit, budget: int = BUDGET) -> Report:
    """`deterministic` "yes" when every sum unit is proved deterministic; otherwise "unknown"
    and the first sum (in id order) that was not proved, with the pair of child units."""
    prover = _Prover(circuit, budget)
    limit = sys.getrecursionlimit()
    # the proof recurses along both sub-circuits; deep circuits need more than the default
    sys.setrecursionlimit(max(limit, min(4 * len(circuit) + 1000, MAX_RECURSION)))
    try:
        for group in circuit.groups:
            if group.kind != "sum":
                continue
            unproved = _first_unproved(prover, group.id, group.units)
            if unproved is not None:
                return Report(deterministic="unknown", determinism_unproved=unproved)
    finally:
        sys.setrecursionlimit(limit)
    return Report(deterministic="yes")


def _first_unproved(prover: _Prover, id: int, units: int) -> Unproved | None:
    try:
        for u in range(units):
            kids = prover.children(prover.offset[id] + u)
            for i in range(len(kids)):
                for j in range(i + 1, len(kids)):
                    if not prover.disjoint(kids[i], kids[j]):
                        (g, a), (h, b) = prover.unit(kids[i]), prover.unit(kids[j])
                        return Unproved(id, "sum", f"sum #{id} unit {u}: children #{g} unit {a} "
                                                   f"and #{h} unit {b} not proved disjoint")
    except _OutOfBudget:
        return Unproved(id, "sum", f"sum #{id}: gave up after {prover.total} steps")
    except RecursionError:
        return Unproved(id, "sum", f"sum #{id}: the circuit is too deep for the proof")
    return None
