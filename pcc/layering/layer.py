"""`layer(circuit) -> LayeredCircuit`: depths, blocks and index arrays for one activation buffer.

Steps: (1) read the structure into flat arrays, and let identity groups share their child's
columns (`pcc.layering.aliases`); (2) find dense sums over Kronecker pairs to fuse
into one einsum (the products then get no columns); (3) depth = 1 + max depth of the (fused)
children; (4) inputs: one block per family; (5) per depth, group by op key and bucket by fan-in
(see `pcc.layering.buckets` for the rule); (6) per block, build padded index and weight-slot
arrays with whole-array numpy (no Python loop per unit or per group).

Op keys: every product is a `product` block row per output unit (hadamard and kronecker alike:
a unit adds one unit of each child), so units need not match; a sum is `kron` when fused, `dense`
(a batched matmul in linear space after max subtraction) when it is a dense sum of K >= 2 units
whose weights are all >= exp(min_log_weight), else `sum` (a gathered, exact logsumexp per unit,
which also keeps exact zero weights exact). `dense` blocks share K, `kron` blocks share
(K, Ka, Kb, pairs). Pads read column ZERO (products) or NEG_INF_COLUMN with weight 0 (sums).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pcc.ir import FAMILIES, Circuit
from pcc.layering.aliases import find_aliases, without_aliases
from pcc.layering.buckets import buckets, concat_ranges, exclusive_cumsum, pad_rows
from pcc.layering.plan import FIRST_FREE_COLUMN, NEG_INF_COLUMN, ZERO, Block, LayeredCircuit
from pcc.layering.structure import (INPUT, SUM, Structure, find_fusions, fused_depths,
                                    input_group, min_weights, structure)

OP_PRODUCT, OP_SUM, OP_DENSE, OP_KRON = 1, 2, 3, 4
SINGLE_UNIT_PATH = True  # blocks of one one-unit group made directly (tests compare both ways)
DEFAULT_PADDING = 0.25


def layer(circuit: Circuit, padding: float = DEFAULT_PADDING, fuse: bool = True,
          min_log_weight: float = -60.0, alias: bool = True) -> LayeredCircuit:
    """The layered plan of `circuit`; each block's padding share is at most `padding`."""
    if not 0 <= padding < 1:
        raise ValueError(f"padding budget must be in [0, 1), got {padding!r}")
    s = structure(circuit)
    n = len(s.kind)
    target = find_aliases(circuit, s) if alias else np.arange(n)
    aliased = np.flatnonzero(target != np.arange(n))
    if len(aliased):
        s = without_aliases(s, target)
    fused_into = find_fusions(circuit, s, min_log_weight) if fuse else np.full(n, -1)
    # an alias needs its target's columns: a sum fusing a product that an alias reads
    # evaluates its products the plain way instead (all of them: a fused sum fuses every child)
    unfuse = np.unique(fused_into[target[aliased]])
    fused_into[np.isin(fused_into, unfuse[unfuse >= 0])] = -1
    depth = fused_depths(s, fused_into)
    sizes = circuit.table.shape.prod(axis=1)
    weight_ptr = circuit.table.weight_ptr.copy()
    builder = _Builder(circuit, s, fused_into, weight_ptr, depth)
    builder.inputs()
    builder.inner(padding, min_log_weight, aliased)
    builder.attach_aliases(aliased, target[aliased])
    depth[aliased] = depth[target[aliased]]
    depth.setflags(write=False)
    return LayeredCircuit(circuit, tuple(builder.blocks), builder.offsets, depth, weight_ptr,
                          builder.next, int(sizes.sum()), padding)


class _Builder:
    def __init__(self, circuit: Circuit, s: Structure, fused_into: np.ndarray,
                 weight_ptr: np.ndarray, depth: np.ndarray):
        self.circuit, self.s, self.fused_into = circuit, s, fused_into
        self.weight_ptr, self.depth = weight_ptr, depth
        self.offsets = np.full(len(s.kind), -1, dtype=np.int64)
        self.next = FIRST_FREE_COLUMN
        self.blocks: list[Block] = []

    def _place(self, groups: np.ndarray, rows_per_group: np.ndarray) -> tuple[int, int]:
        start = self.next
        self.offsets[groups] = start + exclusive_cumsum(rows_per_group)
        self.next = start + int(rows_per_group.sum())
        return start, self.next

    def inputs(self) -> None:
        ids = np.flatnonzero(self.s.kind == INPUT)
        groups = [input_group(self.circuit, i) for i in ids.tolist()]
        family = np.array([g.family for g in groups])
        var = np.array([g.var for g in groups], dtype=np.int64)
        for name in FAMILIES:
            mask = family == name
            if not mask.any():
                continue
            groups, units = ids[mask], self.s.units[ids[mask]]
            start, stop = self._place(groups, units)
            self.blocks.append(Block("input", 0, groups, start, stop, np.repeat(var[mask], units),
                                     family=name, fan_in=1))

    def inner(self, budget: float, min_log_weight: float, aliased: np.ndarray) -> None:
        s = self.s
        evaluated = (s.kind != INPUT) & (self.fused_into < 0)
        evaluated[aliased] = False
        ids = np.flatnonzero(evaluated)
        if not len(ids):
            return
        fused_sum = np.zeros(len(s.kind), dtype=bool)
        fused_sum[self.fused_into[self.fused_into >= 0]] = True
        op, k1, k2, k3, k4, fan = self._keys(ids, fused_sum, min_log_weight)
        order = np.lexsort((k4, k3, k2, k1, op, self.depth[ids]))
        table = np.stack([self.depth[ids], op, k1, k2, k3, k4], axis=1)[order]
        cuts = np.flatnonzero(np.any(table[1:] != table[:-1], axis=1)) + 1
        for part in np.split(order, cuts):
            groups, code = ids[part], int(op[part[0]])
            rows = np.ones(len(groups), np.int64) if code in (OP_DENSE, OP_KRON) else s.units[groups]
            if len(groups) == 1:  # most levels of a deep, narrow circuit: no bucketing
                self.blocks.append(self._block(code, groups, int(fan[part[0]])))
                continue
            bucket_budget = 0.0 if code == OP_KRON else budget
            for members, width in buckets(groups, fan[part], rows, bucket_budget):
                self.blocks.append(self._block(code, members, width))

    def attach_aliases(self, aliased: np.ndarray, targets: np.ndarray) -> None:
        """Aliases read their target's columns; each is listed with the block writing them."""
        self.offsets[aliased] = self.offsets[targets]
        starts = np.array([b.start for b in self.blocks], dtype=np.int64)
        owner = np.searchsorted(starts, self.offsets[aliased], side="right") - 1
        for i in np.unique(owner).tolist():
            self.blocks[i] = replace(self.blocks[i], aliases=np.sort(aliased[owner == i]))

    def _keys(self, ids: np.ndarray, fused_sum: np.ndarray, min_log_weight: float) -> tuple:
        s, z = self.s, np.zeros(len(ids), dtype=np.int64)
        is_sum = s.kind[ids] == SUM
        fan = np.where(is_sum & s.dense[ids], s.child_units[ids], s.nchild[ids])
        threshold = float(np.exp(min_log_weight))
        dense = is_sum & s.dense[ids] & (s.units[ids] >= 2) & ~fused_sum[ids]
        dense[dense] = min_weights(self.circuit, ids[dense]) >= threshold
        kron = fused_sum[ids]
        op = np.where(is_sum, OP_SUM, OP_PRODUCT)
        op[dense], op[kron] = OP_DENSE, OP_KRON
        k1, k2, k3, k4 = z.copy(), z.copy(), z.copy(), z.copy()
        k1[dense] = s.units[ids[dense]]
        if kron.any():
            g = ids[kron]
            first_pair = s.child[s.ptr[g]]
            k1[kron], k4[kron] = s.units[g], s.nchild[g]
            k2[kron] = s.units[s.child[s.ptr[first_pair]]]
            k3[kron] = s.units[s.child[s.ptr[first_pair] + 1]]
            fan[kron] = k2[kron] * k3[kron] * k4[kron]
        return op, k1, k2, k3, k4, fan

    def _block(self, code: int, groups: np.ndarray, width: int) -> Block:
        depth = int(self.depth[groups[0]])
        if SINGLE_UNIT_PATH and len(groups) == 1 and code in (OP_PRODUCT, OP_SUM) and \
                self.s.units[groups[0]] == 1:
            return self._single_unit(code, groups, width, depth)
        if code == OP_PRODUCT:
            index = self._product_index(groups, width)
            start, stop = self._place(groups, self.s.units[groups])
            return Block("product", depth, groups, start, stop, index, fan_in=width,
                         padding=_share(index == ZERO))  # ZERO is only ever read as a pad
        if code == OP_SUM:
            groups = np.concatenate([groups[self.s.dense[groups]], groups[~self.s.dense[groups]]])
            index, slots = self._sum_index(groups, width)
            start, stop = self._place(groups, self.s.units[groups])
            return Block("sum", depth, groups, start, stop, index, weight_slots=slots,
                         fan_in=width, padding=_share(slots < 0))
        if code == OP_DENSE:
            return self._dense(groups, width, depth)
        return self._kron(groups, depth)

    def _single_unit(self, code: int, groups: np.ndarray, width: int, depth: int) -> Block:
        """The block of one group of one unit, as `_product_index` / `_sum_index` make it
        (row 0 of every child; a dense sum reads all its children's units) with a few numpy
        calls instead of dozens: a chain 10^5 levels deep is 10^5 such blocks."""
        s, g = self.s, int(groups[0])
        kids = s.child[s.ptr[g]:s.ptr[g + 1]]
        start, stop = self._place(groups, s.units[groups])
        if code == OP_PRODUCT:
            return Block("product", depth, groups, start, stop, self.offsets[kids][None, :],
                         fan_in=width, padding=0.0)
        cols = concat_ranges(self.offsets[kids], s.units[kids]) if s.dense[g] else \
            self.offsets[kids]
        slots = self.weight_ptr[g] + np.arange(len(cols), dtype=np.int64)
        return Block("sum", depth, groups, start, stop, cols[None, :],
                     weight_slots=slots[None, :], fan_in=width, padding=0.0)

    # -- index arrays -------------------------------------------------------------------------
    def _children_padded(self, groups: np.ndarray, width: int, fill: int) -> np.ndarray:
        s = self.s
        flat = s.child[concat_ranges(s.ptr[groups], s.nchild[groups])]
        return pad_rows(flat, s.nchild[groups], width, fill)

    def _unit_columns(self, groups: np.ndarray, width: int) -> np.ndarray:
        """Per group, the columns of its children's units, concatenated and padded with
        NEG_INF_COLUMN."""
        s = self.s
        occ = s.child[concat_ranges(s.ptr[groups], s.nchild[groups])]
        cols = concat_ranges(self.offsets[occ], s.units[occ])
        return pad_rows(cols, s.child_units[groups], width, NEG_INF_COLUMN)

    def _row_within_group(self, groups: np.ndarray) -> np.ndarray:
        units = self.s.units[groups]
        return np.arange(int(units.sum())) - np.repeat(exclusive_cumsum(units), units)

    def _product_index(self, groups: np.ndarray, width: int) -> np.ndarray:
        s = self.s
        kids = self._children_padded(groups, width, -1)
        valid = kids >= 0
        # kronecker: the stride of child i is the product of the units after it (row-major);
        # hadamard rows use the row itself (units 1 here keep the cumprod from overflowing)
        u = np.where(valid & s.kron[groups][:, None], s.units[np.maximum(kids, 0)], 1)
        strides = np.cumprod(u[:, ::-1], axis=1)[:, ::-1] // u
        units = s.units[groups]
        rows = np.repeat(np.arange(len(groups)), units)
        r = self._row_within_group(groups)[:, None]
        kron = s.kron[groups][rows][:, None]
        digit = np.where(kron, (r // strides[rows]) % u[rows], r)
        return np.where(valid[rows], self.offsets[np.maximum(kids, 0)][rows] + digit, ZERO)

    def _sum_index(self, groups: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.s
        units = s.units[groups]
        rows = np.repeat(np.arange(len(groups)), units)
        r = self._row_within_group(groups)[:, None]
        dense = s.dense[groups]
        fan = np.where(dense, s.child_units[groups], s.nchild[groups])
        j = np.arange(width)[None, :]
        valid = j < fan[rows][:, None]
        index = np.full((len(rows), width), NEG_INF_COLUMN, dtype=np.int64)
        n_dense_rows = int(units[dense].sum())
        if dense.any():
            index[:n_dense_rows] = np.repeat(self._unit_columns(groups[dense], width), units[dense], 0)
        if (~dense).any():
            kids = self._children_padded(groups[~dense], width, -1)
            cols = self.offsets[np.maximum(kids, 0)][rows[n_dense_rows:] - int(dense.sum())]
            index[n_dense_rows:] = np.where(valid[n_dense_rows:], cols + r[n_dense_rows:],
                                            NEG_INF_COLUMN)
        slots = self.weight_ptr[groups][rows][:, None] + r * fan[rows][:, None] + j
        return index, np.where(valid, slots, -1)

    def _dense(self, groups: np.ndarray, width: int, depth: int) -> Block:
        s = self.s
        K = int(s.units[groups[0]])
        index = self._unit_columns(groups, width)
        fan = s.child_units[groups]
        k, j = np.arange(K)[None, :, None], np.arange(width)[None, None, :]
        slots = self.weight_ptr[groups][:, None, None] + k * fan[:, None, None] + j
        slots = np.where(j < fan[:, None, None], slots, -1)
        start, stop = self._place(groups, s.units[groups])
        return Block("dense", depth, groups, start, stop, index, weight_slots=slots, units=K,
                     fan_in=width, padding=_share(index == NEG_INF_COLUMN))

    def _kron(self, groups: np.ndarray, depth: int) -> Block:
        s = self.s
        K, P = int(s.units[groups[0]]), int(s.nchild[groups[0]])
        pairs = s.child[s.ptr[groups][:, None] + np.arange(P)[None, :]]       # (G, P)
        a, b = s.child[s.ptr[pairs]], s.child[s.ptr[pairs] + 1]
        Ka, Kb = int(s.units[a.flat[0]]), int(s.units[b.flat[0]])
        index_a = self.offsets[a][:, :, None] + np.arange(Ka)
        index_b = self.offsets[b][:, :, None] + np.arange(Kb)
        # unit k of the sum reads weight column p*Ka*Kb + i*Kb + j (kronecker is row-major)
        cols = np.arange(P * Ka * Kb).reshape(1, 1, P, Ka, Kb)
        slots = (self.weight_ptr[groups].reshape(-1, 1, 1, 1, 1)
                 + np.arange(K).reshape(1, K, 1, 1, 1) * (P * Ka * Kb) + cols)
        start, stop = self._place(groups, s.units[groups])
        return Block("kron", depth, groups, start, stop, index_a, index_b=index_b,
                     weight_slots=slots, units=K, fan_in=P * Ka * Kb,
                     fused=np.sort(pairs.ravel()))


def _share(pad: np.ndarray) -> float:
    return float(pad.mean()) if pad.size else 0.0
