"""Bulk construction: a `Circuit` from numpy columns, for readers of big files (10^5-10^6 groups).

    table = group_table(code, units, ptr, child, weights)
    circuit = circuit_from_table(table, inputs, domains, origins)

The per-group constructor checks of `Product` and `Sum` are about fields this path fills
itself from arrays (int ids and units, tuples of int children, read-only float64 weight
views); here they run once, vectorized, over the columns, with the constructors' own messages.
`Circuit` then verifies ids, children, shapes and weight values from the same table, so the
groups are screened without a Python step per group. Inputs (few in such files) are made by
the caller with the real constructor, which checks their parameters.
"""

from __future__ import annotations

import gc
from typing import Any, Sequence

import numpy as np

from pcc.ir.circuit import Circuit
from pcc.ir.domains import Domain
from pcc.ir.groups import Group, Input, Product, Sum
from pcc.ir.table import (DENSE, HADAMARD, INPUT, KRONECKER, MIXING, GroupTable,
                          exclusive_cumsum)

_MODE = {HADAMARD: "hadamard", KRONECKER: "kronecker", DENSE: "dense", MIXING: "mixing"}


def group_table(code: np.ndarray, units: np.ndarray, ptr: np.ndarray, child: np.ndarray,
                weights: np.ndarray, var: np.ndarray | None = None,
                cols: np.ndarray | None = None) -> GroupTable:
    """The table of groups with ids 0..n-1 (see `GroupTable`); `weights` are every sum's raveled
    (units, cols) matrix in group order; `cols` defaults to a dense sum's total child units and
    a mixing sum's child count; `var` to -1 (inputs' variables come from the `Input`s)."""
    code = np.asarray(code, dtype=np.int8)
    n = len(code)
    units = np.asarray(units, dtype=np.int64)
    ptr, child = np.asarray(ptr, dtype=np.int64), np.asarray(child, dtype=np.int64)
    if len(units) != n or len(ptr) != n + 1 or ptr[-1] != len(child):
        raise ValueError(f"group table: {n} codes, {len(units)} units, {len(ptr)} pointers "
                         f"(expected {n + 1}) and {len(child)} children (pointers end at "
                         f"{ptr[-1] if len(ptr) else None})")
    _check_codes(code)
    is_sum = code >= DENSE
    if cols is None:
        nchild = np.diff(ptr)
        owner = np.repeat(np.arange(n), nchild)
        safe = np.clip(child, 0, max(n - 1, 0))
        width = np.bincount(owner, weights=units[safe], minlength=n).astype(np.int64)
        cols = np.where(code == DENSE, width, nchild)
    shape = np.stack([np.where(is_sum, units, 0), np.where(is_sum, cols, 0)], axis=1)
    sizes = shape[:, 0] * shape[:, 1]
    if int(sizes.sum()) != len(weights):
        raise ValueError(f"group table: the sums' weight matrices hold {int(sizes.sum())} "
                         f"values, {len(weights)} given")
    weight_ptr = np.where(is_sum, exclusive_cumsum(sizes), -1)
    var = np.full(n, -1, dtype=np.int64) if var is None else np.asarray(var, dtype=np.int64)
    weights = np.array(weights, dtype=np.float64)  # a copy that the sums' weights view
    return GroupTable(code, np.arange(n), units, var, ptr, child, weight_ptr, shape, weights)


def circuit_from_table(table: GroupTable, inputs: Sequence[Input], domains: Sequence[Domain],
                       origins: Sequence[str | None] | None = None) -> Circuit:
    """The circuit of `table`, whose input rows are `inputs` (in order, ids equal to their
    rows); `origins` (one per group, or None) name where each group came from.

    Raises ValueError with the group constructors' message for a bad field (units < 1, a bad
    op code), and `InvalidCircuitError` from `Circuit` for every other problem.
    """
    n = len(table)
    origins = origins if origins is not None else [None] * n
    _check_fields(table, inputs, origins)
    var = table.var.copy()
    at_input = np.flatnonzero(table.code == INPUT)
    var[at_input] = [g.var for g in inputs]
    table = GroupTable(table.code, table.ids, table.units, var, table.ptr, table.child,
                       table.weight_ptr, table.shape, table.weights)
    enabled = gc.isenabled()
    gc.disable()  # the loop makes ~4 acyclic objects per group: no cycles for the GC to find
    try:
        groups = _groups(table, inputs, origins)
    finally:
        if enabled:
            gc.enable()
    return Circuit(groups, domains, table=table)


def _check_fields(table: GroupTable, inputs: Sequence[Input],
                  origins: Sequence[str | None]) -> None:
    code, units = table.code, table.units
    _check_codes(code)
    bad_units = np.flatnonzero(units < 1)
    if len(bad_units):
        g = int(bad_units[0])
        kind = "input" if code[g] == INPUT else "product" if code[g] <= KRONECKER else "sum"
        raise ValueError(f"{kind} #{g}: units must be an int >= 1, got {int(units[g])}")
    at_input = np.flatnonzero(code == INPUT)
    if len(at_input) != len(inputs) or len(origins) != len(table):
        raise ValueError(f"{len(at_input)} input rows and {len(inputs)} inputs, "
                         f"{len(table)} groups and {len(origins)} origins")
    for row, group in zip(at_input.tolist(), inputs):
        if group.id != row or group.units != units[row]:
            raise ValueError(f"input #{group.id} ({group.units} units) given for row {row} "
                             f"({int(units[row])} units)")


def _check_codes(code: np.ndarray) -> None:
    bad = np.flatnonzero((code < INPUT) | (code > MIXING))
    if len(bad):
        raise ValueError(f"group #{bad[0]}: op code {code[bad[0]]} is not one of "
                         f"{INPUT}..{MIXING}")


def _groups(t: GroupTable, inputs: Sequence[Input], origins: Sequence[str | None]) -> list[Group]:
    """One group object per row; weights are read-only views of `t.weights`."""
    new = object.__new__
    flat = t.weights
    kids = t.child.tolist()
    ptr = t.ptr.tolist()
    wptr, rows, cols = t.weight_ptr.tolist(), t.shape[:, 0].tolist(), t.shape[:, 1].tolist()
    next_input = iter(inputs)
    groups: list[Group] = []
    append = groups.append
    for g, (code, units, origin) in enumerate(zip(t.code.tolist(), t.units.tolist(), origins)):
        group: Any
        if code == INPUT:
            append(next(next_input))
            continue
        children = tuple(kids[ptr[g]:ptr[g + 1]])
        if code <= KRONECKER:
            group = new(Product)
            group.__dict__.update(id=g, units=units, children=children, mode=_MODE[code],
                                  origin=origin)
        else:
            start, r = wptr[g], rows[g]
            end = start + r * cols[g]
            weights = flat[None, start:end] if r == 1 else flat[start:end].reshape(r, cols[g])
            group = new(Sum)
            group.__dict__.update(id=g, units=units, children=children, weights=weights,
                                  mode=_MODE[code], origin=origin)
        append(group)
    return groups
