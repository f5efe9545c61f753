"""vectorize: groups of the same kind over the same scope become one group of K units, so a sparse
circuit (one unit per group: a PSDD, a LearnSPN) becomes few wide groups (Einsum Networks' step 1).

The circuit is read as a graph of units (a kronecker product's unit reads one unit of each child,
a mixing sum's unit reads unit k of each child). Units are classed by a key: inputs by (variable,
family, parameter shapes); sums by (scope, level); products by (scope, level, the scopes of their
children), where the level is the length of the longest chain of children of the same scope below
(so no class reads itself). The root keeps its own class. Each class becomes one group:
inputs concatenate their parameters; sums become one dense sum over the union of the groups their
units read, with exact zeros where a unit does not read an input; products become one hadamard
product whose child at each position is the class it reads, or, where the units read are not
that group's units in order, a *gather*: a dense sum with one weight 1 per row (exact: a sum of
one term). The values of the root are unchanged, exactly.

`max_units` caps the units of a merged group (classes are cut into consecutive chunks): wide
sums over sparse inputs are mostly zeros, and a cap trades groups for fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit, Input, Product, Sum
from pcc.transforms.base import Emitter, PassReport


@dataclass(frozen=True)
class VectorizeReport(PassReport):
    groups_before: int
    groups_after: int
    units_before: int
    units_after: int
    gathers: int           # one-hot sums that line units up for a product
    fill: float            # non-zero share of the merged sums' weights (gathers excluded)

    name: ClassVar[str] = "vectorize"

    def text(self) -> str:
        return (f"vectorize: {self.groups_before} -> {self.groups_after} groups, "
                f"{self.units_before} -> {self.units_after} units ({self.gathers} gathers), "
                f"sum weights {100 * self.fill:.1f}% filled")


@dataclass(frozen=True)
class Vectorize:
    max_units: int = 64     # 0: no cap; 64 keeps sparse classes from becoming huge, mostly-zero matrices

    name: ClassVar[str] = "vectorize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, VectorizeReport]:
        units = np.array([g.units for g in circuit.groups], dtype=np.int64)
        off = np.concatenate([[0], np.cumsum(units)]).astype(np.int64)
        graph = _unit_graph(circuit, off)
        group_class, keys = _classes(circuit)
        unit_class = np.repeat(group_class, units)
        if self.max_units > 0:
            unit_class = _chunk(unit_class, self.max_units)
        classes, unit_class = np.unique(unit_class, return_inverse=True)
        # topological order of the classes: by the order key of their first unit's group
        first_group = np.repeat(np.arange(len(units)), units)
        order_key = np.array([keys[group_class[g]] for g in first_group])  # (units, 3)
        class_order = np.zeros((len(classes), 3), dtype=np.int64)
        class_order[unit_class] = order_key
        emit_order = np.lexsort(class_order.T[::-1])
        root_class = unit_class[-1]
        emit_order = np.concatenate([emit_order[emit_order != root_class], [root_class]])
        pos, size = _positions(unit_class, len(classes))
        builder = _Build(circuit, graph, unit_class, pos, size, first_group, off)
        for c in emit_order.tolist():
            builder.emit(c)
        result = builder.out.build()
        fill = builder.nonzero / builder.cells if builder.cells else 1.0
        return result, VectorizeReport(len(circuit), len(result), int(off[-1]),
                                       result.num_units, builder.gathers, float(fill))


@dataclass
class _Graph:
    """Edges between units: sum edges (parent, child, weight), product edges (parent, position,
    child); `kind[u]` 0 input, 1 product, 2 sum."""

    s_par: np.ndarray
    s_child: np.ndarray
    s_w: np.ndarray
    p_par: np.ndarray
    p_pos: np.ndarray
    p_child: np.ndarray


def _unit_graph(circuit: Circuit, off: np.ndarray) -> _Graph:
    masks = circuit.scope_masks
    sp: list = []
    sc: list = []
    sw: list = []
    pp: list = []
    pj: list = []
    pc: list = []
    offs = off.tolist()
    for g in circuit.groups:
        base, k = offs[g.id], g.units
        if isinstance(g, Input):
            continue
        if isinstance(g, Product):
            order = sorted(range(len(g.children)), key=lambda i: masks[g.children[i]])
            rank = {i: j for j, i in enumerate(order)}
            if k == 1:
                for i, c in enumerate(g.children):
                    pp.append(base)
                    pj.append(rank[i])
                    pc.append(offs[c])
                continue
            if g.mode == "hadamard":
                digits = [np.arange(k)] * len(g.children)
            else:
                sizes = [circuit.groups[c].units for c in g.children]
                digits = list(np.unravel_index(np.arange(k), sizes))
            for i, c in enumerate(g.children):
                pp.append(base + np.arange(k))
                pj.append(np.full(k, rank[i]))
                pc.append(offs[c] + digits[i])
            continue
        w = g.weights
        if g.mode == "mixing":
            rows, cols = np.nonzero(w)
            child = np.array([offs[c] for c in g.children])[cols] + rows
        else:
            child_units = np.concatenate([offs[c] + np.arange(circuit.groups[c].units)
                                          for c in g.children]) if k > 1 or w.shape[1] != \
                len(g.children) else np.array([offs[c] for c in g.children])
            rows, cols = np.nonzero(w)
            child = child_units[cols]
        weights = w[rows, cols]
        if k == 1:
            empty = np.zeros(0 if len(rows) else 1, dtype=np.int64)
        else:
            present = np.zeros(k, dtype=bool)
            present[rows] = True
            empty = np.flatnonzero(~present)
        if len(empty):  # an all-zero unit keeps one input of weight 0 (its value is -inf)
            first = offs[g.children[0]]
            rows = np.concatenate([rows, empty])
            child = np.concatenate([child, np.full(len(empty), first) +
                                    (empty if g.mode == "mixing" else 0)])
            weights = np.concatenate([weights, np.zeros(len(empty))])
        sp.append(base + rows)
        sc.append(child)
        sw.append(weights)
    cat = _concat
    return _Graph(cat(sp), cat(sc), cat(sw, float), cat(pp), cat(pj), cat(pc))


def _concat(parts: list, dtype: type = np.int64) -> np.ndarray:
    """One array of the ints and arrays in `parts` (the edge order does not matter)."""
    scalars = [p for p in parts if not isinstance(p, np.ndarray)]
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    return np.concatenate([np.array(scalars, dtype=dtype)] + [a.astype(dtype) for a in arrays])


def _classes(circuit: Circuit) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Per group its class id; per class an order key (scope size, level, kind) that sorts
    every class after the classes it reads."""
    masks = circuit.scope_masks
    level = [0] * len(circuit)
    ids: dict[tuple, int] = {}
    keys: list[tuple[int, int, int]] = []
    out = np.zeros(len(circuit), dtype=np.int64)
    for g in circuit.groups:
        same = [level[c] for c in g.children if masks[c] == masks[g.id]]
        level[g.id] = 1 + max(same) if same else 0
        if isinstance(g, Input):
            key: tuple = ("i", g.var, g.family) + tuple(
                (n, a.shape[1:]) for n, a in sorted(g.params.items()))
        elif isinstance(g, Product):
            key = ("p", masks[g.id], level[g.id], tuple(sorted(masks[c] for c in g.children)))
        else:
            key = ("s", masks[g.id], level[g.id])
        if g.id == len(circuit) - 1:
            key = ("root",)
        if key not in ids:
            ids[key] = len(keys)
            kind = {"i": 0, "p": 1, "s": 2, "root": 3}[key[0]]
            keys.append((bin(masks[g.id]).count("1"), level[g.id], kind))
        out[g.id] = ids[key]
    return out, keys


def _chunk(unit_class: np.ndarray, cap: int) -> np.ndarray:
    """Classes cut into consecutive chunks of at most `cap` units (new class ids)."""
    order = np.argsort(unit_class, kind="stable")
    sorted_class = unit_class[order]
    starts = np.flatnonzero(np.r_[True, sorted_class[1:] != sorted_class[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out = np.empty_like(unit_class)
    out[order] = sorted_class * (len(unit_class) + 1) + rank // cap
    return out


def _positions(unit_class: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's position within its class (in unit order), and the class sizes."""
    order = np.argsort(unit_class, kind="stable")
    size = np.bincount(unit_class, minlength=n)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    pos = np.empty(len(unit_class), dtype=np.int64)
    pos[order] = np.arange(len(order)) - np.repeat(starts, size)
    return pos, size


class _Build:
    def __init__(self, circuit: Circuit, graph: _Graph, unit_class: np.ndarray, pos: np.ndarray,
                 size: np.ndarray, first_group: np.ndarray, off: np.ndarray):
        self.circuit, self.g, self.unit_class, self.pos, self.size = \
            circuit, graph, unit_class, pos, size
        self.first_group, self.off = first_group, off
        self.out = Emitter(circuit.domains)
        self.gid = np.full(len(size), -1, dtype=np.int64)   # class -> new group id
        self.members = _split_by(unit_class, np.arange(len(unit_class)), len(size))
        self.s_edges = _split_by(unit_class[graph.s_par], np.arange(len(graph.s_par)), len(size))
        self.p_edges = _split_by(unit_class[graph.p_par], np.arange(len(graph.p_par)), len(size))
        self.gathers = 0
        self.nonzero = 0
        self.cells = 0

    def emit(self, c: int) -> None:
        units = self.members[c]
        group = self.circuit.groups[int(self.first_group[units[0]])]
        if isinstance(group, Input):
            self.gid[c] = self._input(units, group)
        elif isinstance(group, Product):
            self.gid[c] = self._product(c, len(units))
        else:
            e = self.s_edges[c]
            w = self.g.s_w[e]
            kids, matrix = self._matrix(self.pos[self.g.s_par[e]], self.g.s_child[e], w,
                                        len(units))
            self.nonzero += int(np.count_nonzero(matrix))
            self.cells += matrix.size
            self.gid[c] = self.out.sum(kids, matrix)

    def _input(self, units: np.ndarray, group: Input) -> int:
        """One input of the class's units: each unit's parameters from its original group."""
        owner = self.first_group[units]
        groups = np.unique(owner)
        sizes = np.array([self.circuit.groups[g].units for g in groups.tolist()], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        local = starts[np.searchsorted(groups, owner)] + units - self.off[owner]
        params = {name: np.concatenate([self.circuit.groups[g].params[name]  # type: ignore[union-attr]
                                        for g in groups.tolist()])[local]
                  for name in group.params}
        return self.out.input(group.var, group.family, params)

    def _product(self, c: int, k: int) -> int:
        e = self.p_edges[c]
        positions = self.g.p_pos[e]
        children = []
        for j in np.unique(positions).tolist():
            sel = e[positions == j]
            rows, child = self.pos[self.g.p_par[sel]], self.g.p_child[sel]
            order = np.argsort(rows, kind="stable")
            rows, child = rows[order], child[order]
            classes = self.unit_class[child]
            target = int(self.gid[classes[0]])
            if (np.all(classes == classes[0]) and self.out.units(target) == k
                    and np.array_equal(self.pos[child], np.arange(k))):
                children.append(target)
                continue
            kids, matrix = self._matrix(rows, child, np.ones(len(rows)), k)
            children.append(self.out.sum(kids, matrix))
            self.gathers += 1
        return self.out.product(children)

    def _matrix(self, rows: np.ndarray, child: np.ndarray, w: np.ndarray, k: int
                ) -> tuple[list[int], np.ndarray]:
        """The children (new groups) and dense weights of a sum whose row r reads unit child[i]
        with weight w[i] where rows[i] == r."""
        cgid = self.gid[self.unit_class[child]]
        kids = np.unique(cgid)
        widths = np.array([self.out.units(int(g)) for g in kids], dtype=np.int64)
        col_off = np.concatenate([[0], np.cumsum(widths)[:-1]])
        cols = col_off[np.searchsorted(kids, cgid)] + self.pos[child]
        matrix = np.zeros((k, int(widths.sum())))
        np.add.at(matrix, (rows, cols), w)
        return kids.tolist(), matrix


def _split_by(label: np.ndarray, values: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(label, kind="stable")
    counts = np.bincount(label, minlength=n)
    return np.split(values[order], np.cumsum(counts)[:-1])
