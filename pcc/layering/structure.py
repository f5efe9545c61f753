"""Flat numpy views of a circuit's structure, einsum fusion detection and depths on the fused graph.

Everything here is whole-array numpy over the circuit's `GroupTable` (`pcc.ir.table`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pcc.ir.table as ir_table
from pcc.ir import Circuit, Input, Sum
from pcc.ir.table import concat_ranges, depths, exclusive_cumsum

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


def structure(circuit: Circuit) -> Structure:
    """The structure arrays, from the circuit's `GroupTable` (no pass over the groups)."""
    t = circuit.table
    n = len(t)
    kind = np.where(t.code == ir_table.INPUT, INPUT,
                    np.where(t.code <= ir_table.KRONECKER, PRODUCT, SUM)).astype(np.int8)
    nchild = t.nchild
    child_units = np.zeros(n, dtype=np.int64)
    np.add.at(child_units, t.owner, t.units[t.child])
    return Structure(kind, t.units, t.code == ir_table.KRONECKER, t.code == ir_table.DENSE, t.ptr,
                     t.child, nchild, child_units)


def min_weights(circuit: Circuit, sums: np.ndarray) -> np.ndarray:
    """The smallest weight of each of `sums` (sum groups with at least one weight)."""
    t = circuit.table
    if not len(sums):
        return np.zeros(0)
    sizes = t.shape[sums, 0] * t.shape[sums, 1]
    return np.minimum.reduceat(t.weights[concat_ranges(t.weight_ptr[sums], sizes)],
                               exclusive_cumsum(sizes))


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
    candidates = np.flatnonzero(all_pairs & same)
    fused = candidates[min_weights(circuit, candidates) >= float(np.exp(min_log_weight))]
    fused_into[s.child[concat_ranges(s.ptr[fused], s.nchild[fused])]] = \
        np.repeat(fused, s.nchild[fused])
    return fused_into


def fused_depths(s: Structure, fused_into: np.ndarray) -> np.ndarray:
    """Depth of each group in the graph where fused products are replaced by their children.

    Inputs have depth 0; a fused product reports the depth of the sum that evaluates it.
    """
    n = len(s.kind)
    absorbed = (fused_into >= 0)[s.child]           # per edge: its child is a fused product
    child_of = s.child[absorbed]
    counts = np.where(absorbed, s.nchild[s.child], 1)
    out_start = exclusive_cumsum(counts)
    child = np.empty(int(counts.sum()), dtype=np.int64)
    child[out_start[~absorbed]] = s.child[~absorbed]
    child[concat_ranges(out_start[absorbed], counts[absorbed])] = \
        s.child[concat_ranges(s.ptr[child_of], s.nchild[child_of])]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(np.repeat(np.arange(n), s.nchild), weights=counts, minlength=n)
              .astype(np.int64), out=ptr[1:])
    out = depths(ptr, child)
    mask = fused_into >= 0
    out[mask] = out[fused_into[mask]]
    return out
