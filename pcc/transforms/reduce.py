"""Shared by condition and marginalize: fix some variables (to a value, or NaN = summed out) and
rebuild the circuit over the others.

Every group whose scope lies inside the fixed variables is a constant: its log-values are those
of the reference interpreter on the one row of fixed values. Products drop their constant
children and carry the constant as a per-unit log factor; sums fold their children's factors
into their weights. A kronecker product that loses children reads fewer units, so each rebuilt
group also says which of its new units each old unit became (`index`); a hadamard product whose
children's units no longer line up reads them through a one-hot sum (a gather).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pcc.analysis import decomposability, smoothness
from pcc.backends.reference.interpreter import evaluate
from pcc.ir import Circuit, Input, Product, Sum
from pcc.transforms.base import Emitter, TransformError, child_offsets, node_name


@dataclass
class _Part:
    id: int                 # the new group (-1: a constant)
    index: np.ndarray       # old unit -> new unit
    log_factor: np.ndarray  # old unit = new unit + log_factor (the whole value for a constant)


def reduce_circuit(circuit: Circuit, values: dict[int, float], pass_name: str
                   ) -> tuple[Circuit, float]:
    """The circuit over the variables not in `values`, and log of the dropped factor at the
    root: old(x) = new(x without the fixed variables) + returned value."""
    for v in values:
        if not 0 <= v < circuit.num_vars:
            raise TransformError(f"{pass_name}: variable x{v} does not exist (the circuit has "
                                 f"{circuit.num_vars} variables)")
    report = smoothness(circuit).merge(decomposability(circuit))
    if report.violations:
        raise TransformError(f"{pass_name}: cannot apply: {report.violations[0].message}")
    fixed = 0
    for v in values:
        fixed |= 1 << v
    masks = circuit.scope_masks
    if masks[-1] & ~fixed == 0:
        raise TransformError(f"{pass_name}: every variable of the circuit is fixed; nothing "
                             "is left")
    row = np.full((1, circuit.num_vars), np.nan)
    for v, value in values.items():
        row[0, v] = value
    constants = _constants(circuit, row, fixed)
    rest = [v for v in range(circuit.num_vars) if v not in values]
    new_var = {v: i for i, v in enumerate(rest)}
    out = Emitter([circuit.domains[v] for v in rest])
    parts: list[_Part] = []
    for g in circuit.groups:
        if masks[g.id] & ~fixed == 0:
            parts.append(_Part(-1, np.zeros(g.units, np.int64), constants[g.id]))
        elif isinstance(g, Input):
            gid = out.input(new_var[g.var], g.family, dict(g.params), g.origin)
            parts.append(_Part(gid, np.arange(g.units), np.zeros(g.units)))
        elif isinstance(g, Product):
            parts.append(_product(out, g, [parts[c] for c in g.children]))
        else:
            parts.append(_sum(circuit, out, g, [parts[c] for c in g.children]))
    root = parts[-1]
    return out.build(), float(root.log_factor[0])


def _constants(circuit: Circuit, row: np.ndarray, fixed: int) -> dict[int, np.ndarray]:
    """Log-values of the groups inside the fixed variables (one evaluation of the subcircuit)."""
    masks = circuit.scope_masks
    inside = [g.id for g in circuit.groups if masks[g.id] & ~fixed == 0]
    if not inside:
        return {}
    # the reference on the one row: groups inside the fixed variables get exact values
    values = evaluate(circuit, row)
    return {g: values[g][0] for g in inside}


def _product(out: Emitter, g: Product, kids: list[_Part]) -> _Part:
    k = g.units
    if g.mode == "hadamard":
        digits = [np.arange(k)] * len(kids)
    else:
        digits = list(np.unravel_index(np.arange(k), [len(p.index) for p in kids]))
    factor = np.zeros(k)
    live = []
    for part, d in zip(kids, digits):
        factor += part.log_factor[d]
        if part.id >= 0:
            live.append((part, part.index[d]))
    if g.mode == "kronecker":
        sizes = [out.units(p.id) for p, _ in live]
        index = np.ravel_multi_index(tuple(i for _, i in live), sizes)
        if len(live) == 1:
            return _Part(live[0][0].id, index, factor)
        return _Part(out.product([p.id for p, _ in live], "kronecker", g.origin), index, factor)
    children = []
    for part, index in live:
        if out.units(part.id) == k and np.array_equal(index, np.arange(k)):
            children.append(part.id)
        else:  # units no longer line up: a one-hot sum picks them
            weights = np.zeros((k, out.units(part.id)))
            weights[np.arange(k), index] = 1.0
            children.append(out.sum([part.id], weights, "dense", g.origin))
    new = children[0] if len(children) == 1 else out.product(children, "hadamard", g.origin)
    return _Part(new, np.arange(k), factor)


def _sum(circuit: Circuit, out: Emitter, g: Sum, kids: list[_Part]) -> _Part:
    if any(p.id < 0 for p in kids):  # smooth: all children are constants or none is
        raise TransformError(f"internal: {node_name(g)} mixes constant and variable children")
    k = g.units
    w = np.asarray(g.weights)
    new_kids = sorted({p.id for p in kids})
    widths = [out.units(i) for i in new_kids]
    start = dict(zip(new_kids, np.concatenate([[0], np.cumsum(widths)[:-1]]).tolist()))
    weights = np.zeros((k, int(sum(widths))))
    if g.mode == "dense":
        offsets = child_offsets(circuit, g)
        for i, p in enumerate(kids):
            cols = start[p.id] + p.index
            block = w[:, offsets[i]:offsets[i + 1]] * np.exp(p.log_factor)[None, :]
            np.add.at(weights.T, cols, block.T)  # columns may repeat: they add up
    else:
        for i, p in enumerate(kids):
            cols = start[p.id] + p.index
            weights[np.arange(k), cols] += w[:, i] * np.exp(p.log_factor)
    return _Part(out.sum(new_kids, weights, "dense", g.origin), np.arange(k), np.zeros(k))
