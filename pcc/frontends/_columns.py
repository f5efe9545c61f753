"""Columnar records -> `Circuit`, for the readers of big files (PSDDs of 10^5 groups).

`Records` (in `_text`) keeps a Python list per node; here a file is numpy columns: a kind per
record, a CSR child table, one weight per sum edge, and the line each record came from.
Reachability from the root and renumbering are array operations, and product and sum groups
are made without their constructors' per-group checks (`_trusted`): those checks are about
types and shapes this module produces itself (int ids, tuples of ints, read-only float64
weight rows), and `Circuit.verify` still screens every id, child, shape and weight value.
Inputs, few in such files, go through the real constructor.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pcc.ir import Circuit, Domain, FormatError, Input, InvalidCircuitError, Product, Sum
from pcc.ir.groups import Group

INPUT, PRODUCT, SUM = 0, 1, 2


def reachable(root: int, child_start: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Which records `root` reaches (children come before parents), one frontier at a time."""
    keep = np.zeros(len(child_start) - 1, dtype=bool)
    keep[root] = True
    frontier = np.array([root], dtype=np.int64)
    while len(frontier):
        counts = child_start[frontier + 1] - child_start[frontier]
        # the flat positions of every child of the frontier
        offsets = np.repeat(child_start[frontier] - np.cumsum(counts) + counts, counts)
        kids = children[offsets + np.arange(int(counts.sum()))]
        kids = np.unique(kids[~keep[kids]])
        keep[kids] = True
        frontier = kids
    return keep


def build_columns(kind: np.ndarray, child_start: np.ndarray, children: np.ndarray,
                  edge_weight: np.ndarray, inputs: Sequence[tuple[int, str, dict[str, Any]]],
                  lines: np.ndarray, domains: Sequence[Domain], path: str) -> Circuit:
    """The circuit of the records the last one reaches.

    kind: INPUT/PRODUCT/SUM per record; record r's children are
    `children[child_start[r]:child_start[r + 1]]` (earlier records), with `edge_weight` the
    sum weight of each edge (ignored for products); `inputs` are (var, family, params) of the
    input records in record order; `lines` the file line of each record (its origin).
    """
    n = len(kind)
    if n == 0:
        raise FormatError("the file has no nodes", path)
    keep = reachable(n - 1, child_start, children)
    new_id = np.cumsum(keep) - 1
    kept = np.flatnonzero(keep)
    input_of = np.cumsum(kind == INPUT) - 1  # record -> position in `inputs`
    weights = np.array(edge_weight, dtype=np.float64)  # a copy that the groups' rows view
    weights.setflags(write=False)
    mapped = new_id[children].tolist()
    starts = child_start.tolist()
    kinds = kind[kept].tolist()
    inputs_at = input_of[kept].tolist()
    origin_of = _origins(path, lines[kept])
    groups: list[Group] = []
    for n_new, (r, k) in enumerate(zip(kept.tolist(), kinds)):
        origin = origin_of[n_new]
        s, e = starts[r], starts[r + 1]
        if k == PRODUCT:
            groups.append(_trusted(Product, id=n_new, units=1, children=tuple(mapped[s:e]),
                                   mode="hadamard", origin=origin))
        elif k == SUM:
            groups.append(_trusted(Sum, id=n_new, units=1, children=tuple(mapped[s:e]),
                                   weights=weights[s:e].reshape(1, -1), mode="dense",
                                   origin=origin))
        else:
            var, family, params = inputs[inputs_at[n_new]]
            try:
                groups.append(Input(n_new, 1, var, family,
                                    {k: np.reshape(v, (1,) + np.shape(v))
                                     for k, v in params.items()}, origin))
            except ValueError as error:
                raise FormatError(str(error), *_where(origin, path)) from None
    try:
        return Circuit(groups, domains)
    except InvalidCircuitError as error:
        import re

        first = re.search(r"#(\d+)", error.problems[0])
        index = int(first.group(1)) if first else -1
        where = groups[index].origin if 0 <= index < len(groups) else None
        raise FormatError(str(error), *_where(where, path)) from None


def _origins(path: str, lines: np.ndarray) -> list[str]:
    """`path:line` per record, one string per distinct line (a PSDD decision line gives its sum
    and its element products)."""
    unique, inverse = np.unique(lines, return_inverse=True)
    texts = [f"{path}:{line}" for line in unique.tolist()]
    return [texts[i] for i in inverse.tolist()]


def _where(origin: str | None, path: str) -> tuple[str, int | None]:
    if origin is None:
        return path, None
    head, _, tail = origin.rpartition(":")
    return (head, int(tail)) if tail.isdigit() else (origin, None)


def _trusted(cls: type, **fields: object) -> Any:
    """A frozen group with these fields, without the constructor's checks (see the module
    docstring; tests/test_frontend_columns.py keeps the field names in step with the IR)."""
    group: Any = object.__new__(cls)
    group.__dict__.update(fields)
    return group
