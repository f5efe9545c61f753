"""Identity groups: groups whose units equal their one child's units, which get no block.

A product with a single child, and a sum with a single child whose weights are exactly the
identity (a mixing sum: all ones; a dense sum: the unit matrix), compute nothing: each output
unit is the child's unit of the same position. Compiled sparse circuits are full of them (a
PSDD's decision nodes with one element, LearnSPN's one-child sums): plants.psdd has 44k of its
62k sums. The layering lets such a group share its child's columns (an *alias*), so it costs
neither an op nor buffer memory. A single-child sum has nothing to train (its one weight is 1
under normalization), so aliasing loses no parameter. The root is never aliased, so the root's
values always have their own columns.
"""

from __future__ import annotations

import numpy as np

from pcc.ir import Circuit
from pcc.ir.table import concat_ranges, exclusive_cumsum
from pcc.layering.structure import INPUT, SUM, Structure


def find_aliases(circuit: Circuit, s: Structure) -> np.ndarray:
    """`target[g]`: the non-identity group whose columns g reads (g itself for most groups)."""
    n = len(s.kind)
    first = s.child[np.minimum(s.ptr[:-1], max(len(s.child) - 1, 0))] if len(s.child) else \
        np.zeros(n, dtype=np.int64)
    candidate = (s.kind != INPUT) & (s.nchild == 1) & (s.units == s.child_units)
    candidate[n - 1] = False  # the root keeps its own columns
    sums = np.flatnonzero(candidate & (s.kind == SUM))
    candidate[sums] = _identity_weights(circuit, sums)
    target = np.where(candidate, first, np.arange(n))
    while True:  # chains of identities: pointer jumping, log(length) rounds
        jumped = target[target]
        if np.array_equal(jumped, target):
            return target
        target = jumped


def _identity_weights(circuit: Circuit, sums: np.ndarray) -> np.ndarray:
    """Per one-child sum: are its weights exactly the identity? A (units, 1) matrix (a mixing
    sum, or a one-unit dense sum) must be all ones, a dense (K, K) one the unit matrix."""
    t = circuit.table
    rows, cols = t.shape[sums, 0], t.shape[sums, 1]
    sizes = rows * cols
    if not len(sums):
        return np.zeros(0, dtype=bool)
    at = concat_ranges(t.weight_ptr[sums], sizes)
    k = at - np.repeat(t.weight_ptr[sums], sizes)      # position in the raveled matrix
    c = np.repeat(cols, sizes)
    one = (c == 1) | (k % (c + 1) == 0)                 # the diagonal of a square matrix
    same = t.weights[at] == one
    # a dense one-child sum has cols == units (== child units); anything else is not identity
    square = (cols == 1) | (cols == rows)
    return np.logical_and.reduceat(same, exclusive_cumsum(sizes)) & square


def without_aliases(s: Structure, target: np.ndarray) -> Structure:
    """`s` where every child reference goes to its alias target and aliases have no children."""
    alias = target != np.arange(len(target))
    owner = np.repeat(np.arange(len(target)), s.nchild)    # the parent of each child entry
    child = target[s.child[~alias[owner]]]
    nchild = np.where(alias, 0, s.nchild)
    ptr = np.zeros(len(nchild) + 1, dtype=np.int64)
    np.cumsum(nchild, out=ptr[1:])
    return Structure(s.kind, s.units, s.kron, s.dense, ptr, child, nchild,
                     np.where(alias, 0, s.child_units))
