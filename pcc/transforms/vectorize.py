"""vectorize: groups of the same kind over the same scope become one group of K units, so a sparse
circuit (one unit per group: a PSDD, a LearnSPN, a scalarized EiNet) becomes few wide groups
(Einsum Networks' step 1), where the cost model (`pcc.transforms.cost`) predicts that pays.

The circuit is read as a graph of units (a kronecker product's unit reads one unit of each child,
a mixing sum's unit reads unit k of each child). Units are classed by a key: inputs by (variable,
family, parameter shapes); sums by (scope, level); products by (scope, level, the scopes of their
children), where the level is the length of the longest chain of children of the same scope below
(so no class reads itself). The root keeps its own class. A merged class becomes one group:
inputs concatenate their parameters; sums become one dense sum over the union of the groups their
units read, with exact zeros where a unit does not read an input; products become one product
whose child at each position is the class it reads (kronecker where the units read are the
row-major pairs of two classes' units), or, where the units read are not that group's units in
order, a *gather*: a dense sum with one weight 1 per row (exact: a sum of one term). The values
of the root are unchanged, exactly.

By cost (the default): classes are first cut into the parts that read (sums) or are read by
(products, inputs) disjoint classes (a RAT-SPN's repetitions), and a sum class that is neither
full nor a mixing sum into the parts of one support (a dense part apart from a sparse rest).
A sum class merges where its merged form (a matmul when every weight is positive, an einsum
where it reads kronecker pairs only, a mixing sum, else a kernel sum over every cell, zeros
included) is predicted to beat its sparse edges (`_pays`: neither a forward pass nor
forward+backward slower than 0.9x); a product class where it needs no gather; an input class
where its readers merge. A class read in part by a group that stays sparse stays sparse too (the
sparse reader would multiply the merged class's zeros), until nothing changes; the rest keep
their groups as they are. Last, the whole result is priced against the input (`cost.predict`)
and the input is returned unchanged unless the result pays (both together 1.05x faster).
`always=True` (`vectorize:always`) merges every class, with `max_units` capping the units of a
merged group (classes cut into consecutive chunks: a cap trades groups for fill).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit, Input, Product, Sum
from pcc.transforms.base import Emitter, PassReport, TransformError
from pcc.transforms.cost import DEFAULTS, Constants, Prediction, measured, predict


SLOWER = 0.9   # neither a forward pass nor forward+backward predicted slower than this
MARGIN = 0.05  # and both together faster by this much (less is not worth a changed circuit)


def _pays(forward, train, margin: float = MARGIN):  # type: ignore[no-untyped-def]
    """Whether a form of these speed-ups (forward, forward+backward; > 1: faster) pays."""
    return (np.minimum(forward, train) >= SLOWER) & (forward * train >= 1 + margin)


@dataclass(frozen=True)
class VectorizeReport(PassReport):
    groups_before: int
    groups_after: int
    units_before: int
    units_after: int
    gathers: int           # one-hot sums that line units up for a product
    fill: float            # non-zero share of the merged sums' weights (gathers excluded)
    by_cost: bool = False
    engine: str = ""
    merged: int = 0        # classes predicted to pay merged, of `classes` (those of 2+ groups)
    classes: int = 0
    # predicted ms per call of 1000 rows: (forward, forward+backward) of the input and the output
    before_ms: tuple[float, float] = (0.0, 0.0)
    after_ms: tuple[float, float] = (0.0, 0.0)
    # the input came back as it is (nothing predicted to pay); not `kept`, which the CLI reads
    # as the variables a pass kept
    unchanged: bool = False

    name: ClassVar[str] = "vectorize"

    def text(self) -> str:
        line = (f"vectorize: {self.groups_before} -> {self.groups_after} groups, "
                f"{self.units_before} -> {self.units_after} units ({self.gathers} gathers), "
                f"sum weights {100 * self.fill:.1f}% filled")
        if not self.by_cost:
            return line
        (f0, t0), (f1, t1) = self.before_ms, self.after_ms
        effect = (f"predicted on {self.engine} (1000 rows): forward {f0:.3g} -> {f1:.3g} ms, "
                  f"forward+backward {t0:.3g} -> {t1:.3g} ms")
        if self.unchanged:
            return (f"vectorize: kept sparse, {self.merged} of {self.classes} classes predicted "
                    f"to pay; {effect}")
        return f"{line}; {self.merged} of {self.classes} classes merged by cost, {effect}"


@dataclass(frozen=True)
class Vectorize:
    always: bool = False    # merge every class (the pass before it decided by cost)
    max_units: int = 64     # `always` only: 0 no cap; 64 keeps sparse classes from huge matrices
    engine: str = "native"  # the engine whose constants price the forms
    measured: bool = False  # constants timed here (`cost.measured`) instead of `cost.DEFAULTS`
    constants: Constants | None = field(default=None, compare=False)

    name: ClassVar[str] = "vectorize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, VectorizeReport]:
        units = np.array([g.units for g in circuit.groups], dtype=np.int64)
        off = np.concatenate([[0], np.cumsum(units)]).astype(np.int64)
        graph = _unit_graph(circuit, off)
        group_class, keys = _classes(circuit)
        unit_class = np.repeat(group_class, units)
        first_group = np.repeat(np.arange(len(units)), units)
        if self.always:
            if self.max_units > 0:
                unit_class = _chunk(unit_class, self.max_units)
            wide, builder = _build(circuit, graph, unit_class, first_group, off, keys,
                                   group_class, copy=False)
            return wide, _report(circuit, wide, builder, off)
        constants = self.constants or (measured(self.engine) if self.measured
                                       else DEFAULTS.get(self.engine))
        if constants is None:
            raise TransformError(f"vectorize: unknown engine {self.engine!r}; known: "
                                 + ", ".join(DEFAULTS))
        unit_class = _split_classes(circuit, graph, unit_class, first_group)
        classes, unit_class = np.unique(unit_class, return_inverse=True)
        pos, size = _positions(unit_class, len(classes))
        plan = _Decision(circuit, graph, unit_class, pos, size, first_group, units, constants)
        before = predict(circuit, constants)
        merged = plan.merged & ~plan.trivial
        counts = int(merged.sum()), int((~plan.trivial).sum())
        if not merged.any():
            return circuit, _kept(circuit, off, constants, before, before, counts)
        # classes that stay sparse fall back to their groups
        relabel = np.where(merged[unit_class], unit_class, len(size) + first_group)
        wide, builder = _build(circuit, graph, relabel, first_group, off, keys, group_class,
                               copy=True)
        after = predict(wide, constants)
        if not _pays(*after.ratio(before)):
            return circuit, _kept(circuit, off, constants, before, after, counts)
        report = _report(circuit, wide, builder, off)
        return wide, VectorizeReport(**{**report.__dict__, "by_cost": True,
                                        "engine": constants.engine, "merged": counts[0],
                                        "classes": counts[1],
                                        "before_ms": (before.forward_ms, before.train_ms),
                                        "after_ms": (after.forward_ms, after.train_ms)})


OPTIONS = ("always", "measured", "native", "torch")


def vectorize_options(args: list[str]) -> Vectorize:
    """The pass of `vectorize:OPTION:...`: `always` (merge every class), `measured` (constants
    timed here), `native` / `torch` (the engine priced)."""
    options: dict = {}
    for arg in args:
        if arg not in OPTIONS:
            raise TransformError(f"vectorize: unknown option {arg!r}; known: "
                                 + ", ".join(OPTIONS))
        if arg in ("native", "torch"):
            options["engine"] = arg
        else:
            options[arg] = True
    return Vectorize(**options)


def _report(circuit: Circuit, wide: Circuit, builder: "_Build", off: np.ndarray
            ) -> VectorizeReport:
    fill = builder.nonzero / builder.cells if builder.cells else 1.0
    return VectorizeReport(len(circuit), len(wide), int(off[-1]), wide.num_units,
                           builder.gathers, float(fill))


def _kept(circuit: Circuit, off: np.ndarray, constants: Constants, before: Prediction,
          after: Prediction, counts: tuple[int, int]) -> VectorizeReport:
    n, u = len(circuit), int(off[-1])
    return VectorizeReport(n, n, u, u, 0, 1.0, True, constants.engine, counts[0], counts[1],
                           (before.forward_ms, before.train_ms),
                           (after.forward_ms, after.train_ms), unchanged=True)


def _build(circuit: Circuit, graph: "_Graph", unit_class: np.ndarray, first_group: np.ndarray,
           off: np.ndarray, keys: list, group_class: np.ndarray, copy: bool
           ) -> tuple[Circuit, "_Build"]:
    """The circuit of one group per class of `unit_class`, emitted children first."""
    classes, unit_class = np.unique(unit_class, return_inverse=True)
    # topological order of the classes: by the order key of their first unit's group
    order_key = np.array(keys)[group_class[first_group]]  # (units, 3)
    class_order = np.zeros((len(classes), 3), dtype=np.int64)
    class_order[unit_class] = order_key
    emit_order = np.lexsort(class_order.T[::-1])
    root_class = unit_class[-1]
    emit_order = np.concatenate([emit_order[emit_order != root_class], [root_class]])
    pos, size = _positions(unit_class, len(classes))
    builder = _Build(circuit, graph, unit_class, pos, size, first_group, off, copy)
    for c in emit_order.tolist():
        builder.emit(c)
    return builder.out.build(), builder


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


def _split_classes(circuit: Circuit, graph: "_Graph", unit_class: np.ndarray,
                   first_group: np.ndarray) -> np.ndarray:
    """Sum classes cut into the parts whose units read disjoint sets of classes, then product
    and input classes into the parts read by disjoint sets of classes (connected components
    of units and the classes they read, or are read by): a RAT-SPN's repetitions share scopes
    and variables but no units, and merged together would be mostly zeros or gathers. Last,
    sum classes into the parts of one support (below)."""
    kind = np.array([g.kind for g in circuit.groups])[first_group]
    labels = _components(unit_class, graph.s_par, unit_class[graph.s_child])
    unit_class = np.unique(np.where(kind == "sum", labels, unit_class * 2), return_inverse=True)[1]
    child = np.concatenate([graph.s_child, graph.p_child])
    for cut in ("product", "input"):  # products first: inputs follow the products' parts
        parent = unit_class[np.concatenate([graph.s_par, graph.p_par])]
        labels = _components(unit_class, child, parent)
        unit_class = np.unique(np.where(kind == cut, labels, unit_class * 2),
                               return_inverse=True)[1]
    # a sum class that is neither full nor a mixing sum: its units cut by their support (the
    # units each reads), so that those reading the same inputs can merge densely apart from the
    # rest; the part of one support is full unless it holds zero weights
    pos, size = _positions(unit_class, int(unit_class.max()) + 1)
    cut = (kind == "sum") & ~_mixing(graph, unit_class, pos, size)[unit_class]
    support = np.zeros(len(unit_class), dtype=np.uint64)
    np.add.at(support, graph.s_par,  # a sum of hashes: the same for the same set (wrapping)
              (graph.s_child.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    pair = np.stack([unit_class, np.where(cut, support.view(np.int64), 0)], axis=1)
    return np.unique(pair, axis=0, return_inverse=True)[1].ravel()


def _components(unit_class: np.ndarray, units: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Per unit, a label that is the same for two units of a class when they are connected
    through pairs (units[i], classes[i]); twice a label is even, classes' own ids odd."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_units = len(unit_class)
    nodes = n_units + int(unit_class.max()) + 1
    adjacency = coo_matrix((np.ones(len(units)), (units, n_units + classes)),
                           shape=(nodes, nodes))
    _, label = connected_components(adjacency, directed=False)
    pairs = unit_class.astype(np.int64) * nodes + label[:n_units]
    return np.unique(pairs, return_inverse=True)[1] * 2 + 1


def _product_form(edges: np.ndarray, graph: "_Graph", unit_class: np.ndarray, pos: np.ndarray,
                  size: np.ndarray, k: int) -> tuple[str, list[int]] | None:
    """How a product class of `k` units whose product edges are `edges` reads whole classes:
    ("hadamard", the class at each position) where unit r reads unit r of each, ("kronecker",
    [a, b]) where unit r reads unit r // |b| of a and r % |b| of b; None where a gather is
    needed."""
    positions = graph.p_pos[edges]
    read: list[tuple[int, np.ndarray]] = []  # per position: (class, unit read by each row)
    for j in np.unique(positions).tolist():
        sel = edges[positions == j]
        classes = unit_class[graph.p_child[sel]]
        if len(sel) != k or np.any(classes != classes[0]):
            return None
        cpos = np.full(k, -1, dtype=np.int64)
        cpos[pos[graph.p_par[sel]]] = pos[graph.p_child[sel]]
        read.append((int(classes[0]), cpos))
    rows = np.arange(k)
    if all(size[c] == k and np.array_equal(cpos, rows) for c, cpos in read):
        return "hadamard", [c for c, _ in read]
    if len(read) == 2:
        for (a, pa), (b, pb) in (read, read[::-1]):
            if size[a] * size[b] == k and np.array_equal(pa, rows // size[b]) and \
                    np.array_equal(pb, rows % size[b]):
                return "kronecker", [a, b]
    return None


def _mixing(graph: "_Graph", unit_class: np.ndarray, pos: np.ndarray, size: np.ndarray
            ) -> np.ndarray:
    """Per class: a sum class of 2+ units whose unit r reads only unit r of classes of its
    size (a mixing sum)."""
    sc, cc = unit_class[graph.s_par], unit_class[graph.s_child]
    odd = (size[cc] != size[sc]) | (pos[graph.s_child] != pos[graph.s_par])
    return (np.bincount(sc[odd], minlength=len(size)) == 0) & (size >= 2)


class _Decision:
    """Which classes merge by cost (`merged`), and which are one whole group already
    (`trivial`: merged or not, they stay that group)."""

    def __init__(self, circuit: Circuit, graph: "_Graph", unit_class: np.ndarray,
                 pos: np.ndarray, size: np.ndarray, first_group: np.ndarray, units: np.ndarray,
                 constants: Constants):
        n = len(size)
        code = {"input": 0, "product": 1, "sum": 2}
        group_kind = np.array([code[g.kind] for g in circuit.groups], dtype=np.int64)
        low = np.full(n, len(units), dtype=np.int64)
        high = np.full(n, -1, dtype=np.int64)
        np.minimum.at(low, unit_class, first_group)
        np.maximum.at(high, unit_class, first_group)
        kind = group_kind[low]
        self.trivial = (low == high) & (size == units[low])
        root = int(unit_class[-1])
        # products: only the forms without gathers, over classes that stay whole
        p_edges = _split_by(unit_class[graph.p_par], np.arange(len(graph.p_par)), n)
        merged = np.ones(n, dtype=bool)
        reads: list[np.ndarray] = []
        kron_inputs = np.zeros(n)  # a kronecker pair's units (Ka + Kb); 0: not a pair
        for c in np.flatnonzero(kind == 1).tolist():
            form = _product_form(p_edges[c], graph, unit_class, pos, size, int(size[c]))
            if form is None:
                merged[c] = False
                continue
            reads.append(np.array([[c, child] for child in form[1]], dtype=np.int64))
            if form[0] == "kronecker":
                kron_inputs[c] = size[form[1]].sum()
        # sums: the merged matrix (every unit x every unit of the classes read) vs the edges;
        # a positive matrix is a matmul, or an einsum where it reads kronecker pairs only
        sc, cc = unit_class[graph.s_par], unit_class[graph.s_child]
        edges = np.bincount(sc, minlength=n).astype(float)
        nonzero = np.bincount(sc, weights=(graph.s_w > 0).astype(float), minlength=n)
        pairs = _distinct(sc * n + cc)
        pc, pk = pairs // n, pairs % n
        width = np.bincount(pc, weights=size[pk], minlength=n)
        not_pairs = np.bincount(pc, weights=(kron_inputs[pk] == 0).astype(float), minlength=n)
        inputs = np.where(not_pairs == 0, np.bincount(pc, weights=kron_inputs[pk], minlength=n),
                          width)
        cells = size * width
        dense = (nonzero >= cells) & (size >= 2)
        # a mixing sum (unit r reads unit r of each class) merges at no cost: its edges only
        mixing = _mixing(graph, unit_class, pos, size)
        cells = np.where(mixing & ~dense, size * np.bincount(pc, minlength=n), cells)
        ratios = []
        for costs in (constants.forward, constants.train):
            merged_cost = np.where(dense, inputs * costs.dense_input + cells * costs.dense_weight
                                   + size * costs.dense_output, cells * costs.slot)
            ratios.append(edges * costs.slot / np.maximum(merged_cost, 1e-9))
        pays = _pays(ratios[0], ratios[1], margin=0.0)
        merged &= np.where(kind == 2, pays, True)
        needs = np.concatenate(reads) if reads else np.zeros((0, 2), dtype=np.int64)
        # groups that read a class in part (its other units are zeros to them), and their class
        n_units = len(unit_class)
        par = first_group[np.concatenate([graph.s_par, graph.p_par])]
        child = np.concatenate([graph.s_child, graph.p_child])
        read = _distinct(par * n_units + child)
        pg, rc = read // n_units, unit_class[read % n_units]
        key, runs = _distinct(pg * n + rc, counts=True)
        count = (key, runs)
        pg, rc = key // n, key % n
        rp = unit_class[np.concatenate([[0], np.cumsum(units)])[pg]]
        keep = (count[1] < size[rc]) & (rp != root)
        rp, rc = rp[keep], rc[keep]
        while True:
            alive = merged | self.trivial
            wide = merged & ~self.trivial
            drop = needs[~alive[needs[:, 1]], 0]
            drop = np.concatenate([drop, rc[~wide[rp] & wide[rc]]])
            drop = drop[merged[drop]]
            if not len(drop):
                break
            merged[drop] = False
        self.merged = merged


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
    """Emits one group per class; with `copy`, a class that is one whole group whose children
    are whole groups too is that group (mixing sums and kronecker products stay as they are)."""

    def __init__(self, circuit: Circuit, graph: _Graph, unit_class: np.ndarray, pos: np.ndarray,
                 size: np.ndarray, first_group: np.ndarray, off: np.ndarray, copy: bool = False):
        self.circuit, self.g, self.unit_class, self.pos, self.size = \
            circuit, graph, unit_class, pos, size
        self.first_group, self.off = first_group, off
        self.whole = np.zeros(len(size), dtype=bool)
        # `always` keeps its dense sums (with zeros) where a mixing sum would do
        self.mixing = _mixing(graph, unit_class, pos, size) if copy else self.whole
        if copy:
            units = np.diff(off)
            low = np.full(len(size), len(units), dtype=np.int64)
            high = np.full(len(size), -1, dtype=np.int64)
            np.minimum.at(low, unit_class, first_group)
            np.maximum.at(high, unit_class, first_group)
            self.whole = (low == high) & (size == units[low])
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
        if self.whole[c]:
            kids = self.unit_class[self.off[list(group.children)]] if group.children else \
                np.zeros(0, dtype=np.int64)
            if self.whole[kids].all():
                self.gid[c] = self.out.copy(group, self.gid[kids].tolist())
                return
        if isinstance(group, Input):
            self.gid[c] = self._input(units, group)
        elif isinstance(group, Product):
            self.gid[c] = self._product(c, len(units))
        elif self.mixing[c]:
            self.gid[c] = self._mixing_sum(c, len(units))
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

    def _mixing_sum(self, c: int, k: int) -> int:
        """A mixing sum: row r weighs unit r of each class read (0 where it reads none)."""
        e = self.s_edges[c]
        classes = self.unit_class[self.g.s_child[e]]
        kids, col = np.unique(classes, return_inverse=True)
        weights = np.zeros((k, len(kids)))
        np.add.at(weights, (self.pos[self.g.s_par[e]], col), self.g.s_w[e])
        return self.out.sum(self.gid[kids].tolist(), weights, "mixing")

    def _product(self, c: int, k: int) -> int:
        e = self.p_edges[c]
        form = _product_form(e, self.g, self.unit_class, self.pos, self.size, k)
        if form is not None and form[0] == "kronecker":
            return self.out.product([int(self.gid[c]) for c in form[1]], "kronecker")
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


def _distinct(keys: np.ndarray, counts: bool = False):  # type: ignore[no-untyped-def]
    """np.unique of a large int64 array by one sort (numpy's hashed unique took 12 of the 25 s
    of a scalarized PD EiNet of 6.8M edges), with the run lengths when `counts`."""
    keys = np.sort(keys)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else \
        np.zeros(0, dtype=np.int64)
    if not counts:
        return keys[starts]
    return keys[starts], np.diff(np.r_[starts, len(keys)])


def _split_by(label: np.ndarray, values: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(label, kind="stable")
    counts = np.bincount(label, minlength=n)
    return np.split(values[order], np.cumsum(counts)[:-1])
