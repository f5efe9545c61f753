"""Flat numpy views of a circuit's structure, einsum fusion detection and depths on the fused graph.

Everything here is one pass over the groups to read their fields, then whole-array numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from pcc.ir import Circuit, Input, Sum

INPUT, PRODUCT, SUM = 0, 1, 2


def sum_weights(circuit: Circuit, g: int) -> np.ndarray:
    """The weights of group `g`, which the caller knows to be a sum (by its kind code)."""
    group = circuit.groups[g]
    if not isinstance(group, Sum):
        raise TypeError(f"{group.kind} #{g} is not a sum")
    return group.weights


def input_group(circuit: Circuit, g: int) -> Input:
    """Group `g`, which the caller knows to be an input (by its kind code)."""
    group = circuit.groups[g]
    if not isinstance(group, Input):
        raise TypeError(f"{group.kind} #{g} is not an input")
    return group


@dataclass(frozen=True)
class Structure:
    """Per-group arrays: kind code, units, mode flags and the children in CSR form."""

    kind: np.ndarray         # INPUT / PRODUCT / SUM
    units: np.ndarray
    kron: np.ndarray         # product in kronecker mode
    dense: np.ndarray        # sum in dense mode
    ptr: np.ndarray          # children of g are child[ptr[g]:ptr[g+1]]
    child: np.ndarray
    nchild: np.ndarray
    child_units: np.ndarray  # total units over the children of g
    children: list[tuple[int, ...]]


def structure(circuit: Circuit) -> Structure:
    groups = circuit.groups
    n = len(groups)
    code = {"input": INPUT, "product": PRODUCT, "sum": SUM}
    kind = np.fromiter((code[g.kind] for g in groups), np.int8, n)
    units = np.fromiter((g.units for g in groups), np.int64, n)
    modes = [getattr(g, "mode", "") for g in groups]
    kron = np.array([m == "kronecker" for m in modes], dtype=bool)
    dense = np.array([m == "dense" for m in modes], dtype=bool)
    children = [g.children for g in groups]
    nchild = np.fromiter((len(c) for c in children), np.int64, n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(nchild, out=ptr[1:])
    child = np.fromiter(chain.from_iterable(children), np.int64, int(ptr[-1]))
    child_units = np.zeros(n, dtype=np.int64)
    owner = np.repeat(np.arange(n), nchild)
    np.add.at(child_units, owner, units[child])
    return Structure(kind, units, kron, dense, ptr, child, nchild, child_units, children)


def find_fusions(circuit: Circuit, s: Structure, min_log_weight: float) -> np.ndarray:
    """`fused_into[p]` = the sum that absorbs product p into one einsum, else -1.

    A dense sum is fused with its children when every child is a kronecker product of exactly
    two groups, has this sum as its only parent, all pairs share the same (Ka, Kb) with
    Ka * Kb >= 2, and every weight is at least exp(min_log_weight): the einsum works in
    linear space after subtracting the max of each operand, so a positive weight on the
    largest term is what keeps the result from underflowing.
    """
    n = len(s.kind)
    fused_into = np.full(n, -1, dtype=np.int64)
    parents = np.bincount(s.child, minlength=n)
    first = s.child[np.minimum(s.ptr[:-1], len(s.child) - 1)] if len(s.child) else np.zeros(n, int)
    second = s.child[np.minimum(s.ptr[:-1] + 1, len(s.child) - 1)] if len(s.child) else first
    ka, kb = s.units[first], s.units[second]
    pair = (s.kind == PRODUCT) & s.kron & (s.nchild == 2) & (parents == 1) & (ka * kb >= 2)
    is_sum = (s.kind == SUM) & s.dense & (s.nchild > 0)
    if not pair.any() or not is_sum.any():
        return fused_into
    starts = s.ptr[:-1]
    safe = np.minimum(starts, max(len(s.child) - 1, 0))
    all_pairs = np.logical_and.reduceat(pair[s.child], safe) & is_sum
    key = ka * (1 << 31) + kb
    same = (np.minimum.reduceat(key[s.child], safe) == np.maximum.reduceat(key[s.child], safe))
    threshold = float(np.exp(min_log_weight))
    for g in np.flatnonzero(all_pairs & same):
        if sum_weights(circuit, int(g)).min() >= threshold:
            fused_into[list(s.children[g])] = g
    return fused_into


def fused_depths(s: Structure, fused_into: np.ndarray) -> np.ndarray:
    """Depth of each group in the graph where fused products are replaced by their children.

    Inputs have depth 0; a fused product reports the depth of the sum that evaluates it.
    """
    n = len(s.kind)
    absorbed = (fused_into >= 0).tolist()
    children = s.children
    depth = [0] * n
    for g in range(n):
        kids = children[g]
        if not kids:
            continue
        best = 0
        for c in kids:
            if absorbed[c]:
                for cc in children[c]:
                    best = depth[cc] if depth[cc] > best else best
            else:
                best = depth[c] if depth[c] > best else best
        depth[g] = best + 1
    out = np.array(depth, dtype=np.int64)
    mask = fused_into >= 0
    out[mask] = out[fused_into[mask]]
    return out
