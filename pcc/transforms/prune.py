"""prune: drop unreachable groups, zero-weight inputs of sums and units nobody reads; merge
structurally identical groups (hash-consing); renumber. The root's values are unchanged.

Unit pruning is conservative where units must stay aligned: inputs and dense sums lose the units
no parent reads; hadamard products and mixing sums keep all their units, and so do the groups
they read (their units are matched by position), and kronecker products (their units are the
combinations of their children's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit, Input, Product, Sum
from pcc.transforms.base import Emitter, PassReport, child_offsets


@dataclass(frozen=True)
class PruneReport(PassReport):
    groups_before: int
    groups_after: int
    unreachable: int        # groups the root does not reach (or reads no unit of)
    zero_inputs: int        # child edges of sums whose weights are all zero
    units_dropped: int      # units of kept groups that nobody reads
    merged: int             # groups replaced by an identical one

    name: ClassVar[str] = "prune"

    def text(self) -> str:
        return (f"prune: {self.groups_before} -> {self.groups_after} groups ({self.unreachable} "
                f"unreachable, {self.zero_inputs} zero-weight inputs, {self.units_dropped} "
                f"unread units, {self.merged} merged)")


@dataclass(frozen=True)
class Prune:
    """Options: `merge` identical groups (hash-consing), `units` drop unread units."""

    merge: bool = True
    units: bool = True

    name: ClassVar[str] = "prune"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, PruneReport]:
        groups = circuit.groups
        n = len(groups)
        read, keep_edge, pinned = _reads(circuit, self.units)
        keep: list[np.ndarray | None] = [None] * n   # kept units; ALL for every unit
        units_dropped = 0
        for g in groups:
            r = read[g.id]
            if not r:
                continue
            full = (1 << g.units) - 1
            if r != full and self.units and not pinned[g.id] and (
                    isinstance(g, Input) or (isinstance(g, Sum) and g.mode == "dense")):
                keep[g.id] = np.flatnonzero(_bits(r, g.units))
                units_dropped += g.units - len(keep[g.id])  # type: ignore[arg-type]
            else:
                keep[g.id] = ALL
        out = Emitter(circuit.domains)
        new_id = np.full(n, -1, dtype=np.int64)
        ids = new_id.tolist()
        seen: dict[tuple, int] = {}
        merged = zero_inputs = 0
        for g in groups:
            rows = keep[g.id]
            if rows is None:
                continue
            edges = keep_edge[g.id]
            if edges is not None:
                zero_inputs += int((~edges).sum())
            key, make = _rebuild(circuit, g, rows, edges, keep, ids)
            if self.merge and key in seen:
                ids[g.id] = seen[key]
                merged += 1
                continue
            ids[g.id] = make(out)
            if self.merge:
                seen[key] = ids[g.id]
        result = out.build()
        unreachable = sum(1 for k in keep if k is None)
        return result, PruneReport(n, len(result), unreachable, zero_inputs, units_dropped,
                                   merged)


ALL = np.zeros(0, dtype=np.int64)  # sentinel: every unit kept


def _bits(mask: int, size: int) -> np.ndarray:
    """The bool vector of `size` entries of an int bitmask (bit k = unit k)."""
    raw = np.frombuffer(mask.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:size].astype(bool)


def _mask(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def _all_nonzero(circuit: Circuit) -> np.ndarray:
    """Per group: a sum whose weights are all non-zero (the common, fast case)."""
    sums = [g for g in circuit.groups if isinstance(g, Sum)]
    out = np.zeros(len(circuit.groups), dtype=bool)
    if not sums:
        return out
    sizes = np.array([g.weights.size for g in sums], dtype=np.int64)
    flat = np.concatenate([g.weights.ravel() for g in sums])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out[[g.id for g in sums]] = np.logical_and.reduceat(flat != 0, starts)
    return out


def _reads(circuit: Circuit, units: bool) -> tuple[list, list, np.ndarray]:
    """Per group: the units some parent reads (an int bitmask; 0: unreached), which child edges
    of a sum carry a non-zero weight (None for other groups), and whether the units are pinned
    (read by position, or the root)."""
    groups = circuit.groups
    n = len(groups)
    read = [0] * n
    keep_edge: list[np.ndarray | None] = [None] * n
    pinned = np.zeros(n, dtype=bool)
    read[n - 1] = (1 << groups[-1].units) - 1
    pinned[n - 1] = True  # the root keeps every unit
    fast = _all_nonzero(circuit)
    for g in reversed(groups):
        r = read[g.id]
        if not r or isinstance(g, Input):
            continue
        if isinstance(g, Product) or fast[g.id]:
            pin = g.mode in ("hadamard", "mixing")
            for c in g.children:
                read[c] = (1 << groups[c].units) - 1
                if pin:
                    pinned[c] = True
            if fast[g.id]:
                keep_edge[g.id] = np.ones(len(g.children), dtype=bool)
            continue
        aligned = g.mode == "mixing" or pinned[g.id] or not units
        w = g.weights if aligned else g.weights[_bits(r, g.units)]
        nonzero = np.any(w != 0, axis=0)
        if g.mode == "mixing":
            edges = nonzero.copy()
        else:
            offsets = child_offsets(circuit, g)
            edges = np.logical_or.reduceat(nonzero, offsets[:-1])
        if not edges.any():
            edges[0] = True  # an all-zero sum keeps one input: its value is -inf, still valid
            nonzero[:] = True
        keep_edge[g.id] = edges
        for i, c in enumerate(g.children):
            if not edges[i]:
                continue
            if g.mode == "mixing":
                read[c] = (1 << groups[c].units) - 1
                pinned[c] = True
            else:
                read[c] |= _mask(nonzero[offsets[i]:offsets[i + 1]])
    return read, keep_edge, pinned


def _rebuild(circuit: Circuit, g, rows: np.ndarray, edges, keep: list, ids: list):
    """The hash-consing key of the pruned group and a function emitting it."""
    if isinstance(g, Input):
        params = dict(g.params) if rows is ALL else {k: v[rows] for k, v in g.params.items()}
        key: tuple = ("i", g.var, g.family) + tuple((k, v.shape, v.tobytes())
                                            for k, v in sorted(params.items()))
        return key, lambda out: out.input(g.var, g.family, params, g.origin)
    if isinstance(g, Product):
        kids = tuple(ids[c] for c in g.children)
        return ("p", g.mode, kids), lambda out: out.product(kids, g.mode, g.origin)
    kids = tuple(ids[c] for i, c in enumerate(g.children) if edges[i])
    untouched = rows is ALL and edges.all() and all(keep[c] is ALL for c in g.children)
    if untouched:
        w = g.weights
    elif g.mode == "mixing":
        w = g.weights[:, edges]
    else:
        offsets = child_offsets(circuit, g)
        cols = [offsets[i] + (np.arange(circuit.groups[c].units) if keep[c] is ALL else keep[c])
                for i, c in enumerate(g.children) if edges[i]]
        w = g.weights[np.ix_(np.arange(g.units) if rows is ALL else rows, np.concatenate(cols))]
    w = np.ascontiguousarray(w)
    key = ("s", g.mode, kids, w.shape, w.tobytes())
    return key, lambda out: out.sum(kids, w, g.mode, g.origin)
