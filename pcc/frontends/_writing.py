"""What the writers of node-level formats (`.jpc`, SPFlow text, `.psdd`) share: how a refusal
names a node, the one-unit requirement, and the size of a DAG written out as a tree."""

from __future__ import annotations

import numpy as np

from pcc.ir import Circuit, FormatError
from pcc.ir.groups import Group
from pcc.ir.table import concat_ranges, exclusive_cumsum


def label(group: Group) -> str:
    """`sum #12 (#3 unit 4)`: the node, and its origin (a file line, or the group and unit of
    the circuit it was scalarized from)."""
    text = f"{group.kind} #{group.id}"
    return f"{text} ({group.origin})" if group.origin else text


def require_one_unit(circuit: Circuit, format: str) -> None:
    """FormatError naming the first group of several units: `format` holds one-unit nodes."""
    wide = np.flatnonzero(circuit.table.units != 1)
    if len(wide):
        g = circuit[int(wide[0])]
        raise FormatError(f"group #{g.id} has {g.units} units; {format} holds one-unit nodes "
                          "only (the scalarize pass splits them; pcc convert runs it itself)")


def tree_size(circuit: Circuit) -> float:
    """The number of nodes of the circuit written as a tree (each shared node under each of its
    parents), counted level by level in floating point (it can exceed any integer type)."""
    t = circuit.table
    size = np.ones(len(t))
    depth = circuit.depths
    order = np.argsort(depth, kind="stable")
    cuts = np.searchsorted(depth[order], np.arange(1, int(depth.max(initial=0)) + 2))
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        level = order[lo:hi]
        counts = t.nchild[level]
        kids = t.child[concat_ranges(t.ptr[level], counts)]
        size[level] = 1 + np.add.reduceat(size[kids], exclusive_cumsum(counts))
    return float(size[-1])
