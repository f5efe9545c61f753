"""`GroupTable`: a circuit's groups as flat numpy columns, and the structure derived from them.

Per group: an op code (input, hadamard/kronecker product, dense/mixing sum), its id field, units
and variable; the children in CSR form; every sum's weight matrix raveled into one float64
array in group order. `Circuit.table` builds it in one pass over the groups, or takes it from a
bulk constructor (`pcc.ir.bulk`) that made the groups from these columns. Verification, depths,
scopes and the layering then work on whole arrays: no Python step per group, so a 10^6-group
circuit costs numpy time, not interpreter time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pcc.ir.groups import Group, Sum

INPUT, HADAMARD, KRONECKER, DENSE, MIXING = 0, 1, 2, 3, 4
CODE = {("input", ""): INPUT, ("product", "hadamard"): HADAMARD,
        ("product", "kronecker"): KRONECKER, ("sum", "dense"): DENSE, ("sum", "mixing"): MIXING}


@dataclass(frozen=True, eq=False)
class GroupTable:
    """Columns over the groups of a circuit; group g's children are `child[ptr[g]:ptr[g+1]]`
    and a sum's weights are `weights[weight_ptr[g]:][:rows * cols]` with `shape[g] = (rows,
    cols)` (-1 and (0, 0) for groups that are not sums). Arrays are read-only."""

    code: np.ndarray        # int8: INPUT, HADAMARD, KRONECKER, DENSE or MIXING
    ids: np.ndarray         # the groups' id fields (equal to positions in a valid circuit)
    units: np.ndarray
    var: np.ndarray         # an input's variable, -1 for inner groups
    ptr: np.ndarray         # (n + 1,)
    child: np.ndarray
    weight_ptr: np.ndarray
    shape: np.ndarray       # (n, 2) weight matrix shapes
    weights: np.ndarray     # every sum's raveled weights, in group order

    def __post_init__(self) -> None:
        for name in ("code", "ids", "units", "var", "ptr", "child", "weight_ptr", "shape",
                     "weights"):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return len(self.code)

    @property
    def nchild(self) -> np.ndarray:
        return np.diff(self.ptr)

    @property
    def owner(self) -> np.ndarray:
        """The parent of each entry of `child`."""
        return np.repeat(np.arange(len(self.code)), self.nchild)


def table_of(groups: Sequence[Group]) -> GroupTable:
    """The table of any sequence of groups (well-formed or not: shapes are read, not trusted)."""
    n = len(groups)
    code = np.fromiter((CODE[(g.kind, getattr(g, "mode", ""))] for g in groups), np.int8, n)
    ids = np.fromiter((g.id for g in groups), np.int64, n)
    units = np.fromiter((g.units for g in groups), np.int64, n)
    var = np.fromiter((getattr(g, "var", -1) for g in groups), np.int64, n)
    nchild = np.fromiter((len(g.children) for g in groups), np.int64, n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(nchild, out=ptr[1:])
    child = np.fromiter((c for g in groups for c in g.children), np.int64, int(ptr[-1]))
    sums = [g for g in groups if isinstance(g, Sum)]
    shape = np.zeros((n, 2), dtype=np.int64)
    is_sum = code >= DENSE
    shape[is_sum] = np.array([g.weights.shape for g in sums], dtype=np.int64).reshape(-1, 2)
    sizes = shape[:, 0] * shape[:, 1]
    weight_ptr = np.where(is_sum, np.cumsum(sizes) - sizes, -1)
    weights = np.concatenate([g.weights.ravel() for g in sums]) if sums else np.zeros(0)
    return GroupTable(code, ids, units, var, ptr, child, weight_ptr, shape,
                      np.asarray(weights, dtype=np.float64))


def exclusive_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=np.int64)
    if len(a) > 1:
        np.cumsum(a[:-1], out=out[1:])
    return out


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """np.concatenate([arange(s, s + c) for s, c in zip(starts, counts)]) without a loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - exclusive_cumsum(counts), counts)
    return shift + np.arange(total, dtype=np.int64)


def depths(ptr: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Longest path from each group down to a childless group (0), for children before
    parents. One round per depth level (Kahn's algorithm on arrays): a group's depth is set
    once all its children are done, so the work is O(groups + edges) plus a round per level."""
    n = len(ptr) - 1
    nchild = np.diff(ptr)
    owner = np.repeat(np.arange(n), nchild)
    # a round costs tens of microseconds of numpy calls however few groups it holds: past
    # this many rounds (a chain 10^5 sums deep), one Python step per group and edge is cheaper
    rounds_left = _ROUNDS_BASE + (n + len(child)) // _STEPS_PER_ROUND
    in_order = bool(np.all(child < owner))
    by_child = np.argsort(child, kind="stable")        # edges grouped by child
    rptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(child, minlength=n), out=rptr[1:])
    depth = np.zeros(n, dtype=np.int64)
    waiting = nchild.copy()
    stamp = np.zeros(n, dtype=np.int64)
    frontier = np.flatnonzero(nchild == 0)
    while len(frontier):  # each round costs its own edges, never O(n)
        rounds_left -= 1
        if rounds_left < 0 and in_order:
            return _depths_in_order(ptr, child)
        counts = rptr[frontier + 1] - rptr[frontier]
        edges = by_child[concat_ranges(rptr[frontier], counts)]
        parents = owner[edges]
        np.maximum.at(depth, parents, np.repeat(depth[frontier], counts) + 1)
        np.subtract.at(waiting, parents, 1)
        ready = parents[waiting[parents] == 0]
        # each ready parent once: of repeated entries, the last write of `stamp` survives
        stamp[ready] = np.arange(len(ready))
        frontier = ready[stamp[ready] == np.arange(len(ready))]
    return depth


# Kahn rounds / scope levels before a one-pass Python loop is cheaper: a round of numpy calls
# costs about as much as 100 Python steps (measured on chains of 10^4-10^5 sums)
_ROUNDS_BASE = 64
_STEPS_PER_ROUND = 100


def _depths_in_order(ptr: np.ndarray, child: np.ndarray) -> np.ndarray:
    """`depths` for children before parents, one Python step per group and edge."""
    kids, at = child.tolist(), ptr.tolist()
    depth = [0] * (len(at) - 1)
    get = depth.__getitem__
    for g in range(len(depth)):
        if at[g] < at[g + 1]:
            depth[g] = 1 + max(map(get, kids[at[g]:at[g + 1]]))
    return np.array(depth, dtype=np.int64)


def _scope_bits_in_order(table: GroupTable, words: int, order: np.ndarray) -> np.ndarray:
    """`scope_bits` one Python step per group and edge (in `order`, children first), with
    Python ints as bit sets."""
    kids, at = table.child.tolist(), table.ptr.tolist()
    masks = [0] * len(table)
    for g, v in zip(np.flatnonzero(table.code == INPUT).tolist(),
                    table.var[table.code == INPUT].tolist()):
        masks[g] = 1 << v
    for g in order.tolist():
        if at[g] < at[g + 1]:
            m = 0
            for c in kids[at[g]:at[g + 1]]:
                m |= masks[c]
            masks[g] = m
    raw = b"".join(m.to_bytes(8 * words, "little") for m in masks)
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64).reshape(len(table), words)


def scope_bits(table: GroupTable, num_vars: int, depth: np.ndarray) -> np.ndarray:
    """Each group's scope as a row of uint64 words (bit v of the row = variable v), built
    level by level: one `bitwise_or.reduceat` over the children of all groups of a depth
    (or, for a circuit with more levels than that pays for, one pass in depth order)."""
    n = len(table)
    words = max(1, (num_vars + 63) // 64)
    bits = np.zeros((n, words), dtype=np.uint64)
    inputs = np.flatnonzero(table.code == INPUT)
    v = table.var[inputs]
    bits[inputs, v // 64] = np.left_shift(np.uint64(1), (v % 64).astype(np.uint64))
    order = np.argsort(depth, kind="stable")
    levels = int(depth.max(initial=0))
    if levels > _ROUNDS_BASE + (n + len(table.child)) // _STEPS_PER_ROUND and \
            np.all((v >= 0) & (v < 64 * words)):
        out = _scope_bits_in_order(table, words, order)
        out.setflags(write=False)
        return out
    cuts = np.searchsorted(depth[order], np.arange(1, levels + 2))
    nchild = table.nchild
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        level = order[lo:hi]
        counts = nchild[level]
        level, counts = level[counts > 0], counts[counts > 0]
        if not len(level):
            continue
        kids = table.child[concat_ranges(table.ptr[level], counts)]
        bits[level] = np.bitwise_or.reduceat(bits[kids], exclusive_cumsum(counts), axis=0)
    bits.setflags(write=False)
    return bits


def bits_to_mask(row: np.ndarray) -> int:
    """One scope row as a Python int bitmask (the form of `Circuit.scope_masks`)."""
    return int.from_bytes(row.astype("<u8").tobytes(), "little")
