"""scalarize: every group of K units becomes K one-unit groups (a sparse PC, the shape of
`.jpc`, SPFlow and PSDD files), the inverse of vectorize. The root's values are unchanged, exactly.

Unit k of group g becomes group `off[g] + k` (`off`: the groups' units, summed before g), so the
order stays children-first and the root (one unit) stays last. Inputs split into one-unit inputs
with the same parameters. A product's unit becomes a hadamard product of the units it reads
(hadamard: unit k of each child; kronecker: the row-major digits of k, the first child slowest).
A sum's unit becomes a dense sum with its row of weights: a dense sum's row reads every unit of
its children in order, a mixing sum's unit k reads unit k of each child. Exact zero weights are
kept as edges: dropping them could leave a unit unread (prune removes them where wanted).
A circuit of one-unit groups without kronecker products or mixing sums comes back as it is.

Everything but the inputs is made as numpy columns (`pcc.ir.bulk`), so the cost is numpy time
per edge plus one Python step per input unit and per group object, never a loop over edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit, Input
from pcc.ir.bulk import circuit_from_table, group_table
from pcc.ir.table import (DENSE, HADAMARD, INPUT, KRONECKER, MIXING, GroupTable, concat_ranges,
                          exclusive_cumsum)
from pcc.transforms.base import PassReport, TransformError, node_name

# the op code of a one-unit group made from a group of each code
_SCALAR_CODE = np.array([INPUT, HADAMARD, HADAMARD, DENSE, DENSE], dtype=np.int8)


@dataclass(frozen=True)
class ScalarizeReport(PassReport):
    groups_before: int
    groups_after: int
    edges_after: int

    name: ClassVar[str] = "scalarize"

    def text(self) -> str:
        return (f"scalarize: {self.groups_before} -> {self.groups_after} groups of one unit, "
                f"{self.edges_after} edges")


@dataclass(frozen=True)
class Scalarize:
    name: ClassVar[str] = "scalarize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, ScalarizeReport]:
        t = circuit.table
        if circuit.root.units != 1:
            raise TransformError(f"scalarize: the root, {node_name(circuit.root)}, has "
                                 f"{circuit.root.units} units; one-unit groups hold one root "
                                 "distribution (add a one-unit sum over it first)")
        if is_scalar(circuit):
            return circuit, ScalarizeReport(len(t), len(t), len(t.child))
        off = exclusive_cumsum(t.units)
        group_of = np.repeat(np.arange(len(t)), t.units)   # the old group of each new one
        unit_of = np.arange(len(group_of)) - off[group_of]  # its unit in that group
        code = _SCALAR_CODE[t.code[group_of]]
        counts = np.where(t.code == DENSE, t.shape[:, 1], t.nchild)[group_of]
        counts[code == INPUT] = 0
        ptr = np.zeros(len(group_of) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        child = np.empty(int(ptr[-1]), dtype=np.int64)
        _unit_edges(t, off, group_of, unit_of, ptr, child)
        _dense_edges(t, off, group_of, ptr, child)
        # a new sum's weights are its old sum's row: the old raveled rows, in the same order
        table = group_table(code, np.ones(len(code), dtype=np.int64), ptr, child, t.weights,
                            cols=np.where(code == DENSE, np.diff(ptr), 0))
        result = circuit_from_table(table, _inputs(circuit, off), circuit.domains,
                                    _origins(circuit, group_of, unit_of))
        return result, ScalarizeReport(len(t), len(result), len(child))


def is_scalar(circuit: Circuit) -> bool:
    """One unit per group, hadamard products and dense sums only: the form scalarize makes."""
    t = circuit.table
    return bool(t.units.max() == 1 and not np.isin(t.code, (KRONECKER, MIXING)).any())


def _strides(t: GroupTable) -> np.ndarray:
    """Per edge: the product of the units of the later children of a kronecker product (the
    place value of that child's digit in a unit index); 1 for other groups' edges."""
    stride = np.ones(len(t.child), dtype=np.int64)
    owner = t.owner
    kron = t.code[owner] == KRONECKER
    from_end = t.ptr[owner + 1] - 1 - np.arange(len(t.child))
    child_units = t.units[t.child]
    for r in range(1, int(from_end[kron].max(initial=0)) + 1):
        at = np.flatnonzero(kron & (from_end == r))  # `at + 1` was done in the round before
        stride[at] = stride[at + 1] * child_units[at + 1]
    return stride


def _unit_edges(t: GroupTable, off: np.ndarray, group_of: np.ndarray, unit_of: np.ndarray,
                ptr: np.ndarray, child: np.ndarray) -> None:
    """Products' and mixing sums' edges: new unit k reads one unit of each child (k itself for
    hadamard and mixing, whose children have as many units; k's digit for kronecker)."""
    new = np.flatnonzero(np.isin(t.code[group_of], (HADAMARD, KRONECKER, MIXING)))
    counts = np.diff(ptr)[new]
    entry_new = np.repeat(new, counts)
    position = concat_ranges(np.zeros(len(new), dtype=np.int64), counts)
    edge = t.ptr[group_of[entry_new]] + position
    kid = t.child[edge]
    digit = (unit_of[entry_new] // _strides(t)[edge]) % t.units[kid]
    child[ptr[entry_new] + position] = off[kid] + digit


def _dense_edges(t: GroupTable, off: np.ndarray, group_of: np.ndarray, ptr: np.ndarray,
                 child: np.ndarray) -> None:
    """Dense sums' edges: every new unit reads its old group's columns, every unit of each
    child in order (the same list for all units of a group)."""
    dense = np.flatnonzero(t.code == DENSE)
    if not len(dense):
        return
    nchild = t.nchild[dense]
    edges = concat_ranges(t.ptr[dense], nchild)
    kid = t.child[edges]
    columns = concat_ranges(off[kid], t.units[kid])       # all dense groups' column lists
    column_start = exclusive_cumsum(t.shape[dense, 1])    # where each group's list starts
    start_of = np.full(len(t), -1, dtype=np.int64)
    start_of[dense] = column_start
    new = np.flatnonzero(t.code[group_of] == DENSE)
    counts = np.diff(ptr)[new]
    starts = start_of[group_of[new]]
    child[concat_ranges(ptr[new], counts)] = columns[concat_ranges(starts, counts)]


def _inputs(circuit: Circuit, off: np.ndarray) -> list[Input]:
    """Unit k of each input group as an input of its own (ids `off[g] + k`). Its parameters
    are read-only views of the checked originals, so the constructor's copy and checks are
    skipped (they were half the time of a RAT-SPN's 10^5 input units); `Circuit` still
    verifies every input."""
    out: list[Input] = []
    new = object.__new__
    for g in circuit.groups:
        if isinstance(g, Input):
            for k in range(g.units):
                one = new(Input)
                one.__dict__.update(
                    id=int(off[g.id]) + k, units=1, var=g.var, family=g.family,
                    params={name: value[k:k + 1] for name, value in g.params.items()},
                    origin=g.origin if g.units == 1 else _unit_origin(g.origin, g.id, k))
                out.append(one)
    return out


def _origins(circuit: Circuit, group_of: np.ndarray, unit_of: np.ndarray) -> list[str | None]:
    """A one-unit group keeps its origin; unit k of a wider one says `<origin or #id> unit k`."""
    groups = circuit.groups
    return [groups[g].origin if groups[g].units == 1 else _unit_origin(groups[g].origin, g, k)
            for g, k in zip(group_of.tolist(), unit_of.tolist())]


def _unit_origin(origin: str | None, id: int, unit: int) -> str:
    return f"{origin or f'#{id}'} unit {unit}"
