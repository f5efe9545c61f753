"""Columnar records -> `Circuit`, for the readers of big files (PSDDs of 10^5 groups).

`Records` (in `_text`) keeps a Python list per node; here a file is numpy columns: a kind per
record, a CSR child table, one weight per sum edge, and the line each record came from.
Reachability from the root and renumbering are array operations; the groups are made by the
bulk constructor of `pcc.ir.bulk` (checks once over the columns, then `Circuit.verify` from
the same table). Inputs, few in such files, go through the real constructor.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pcc.frontends._text import warn_unused
from pcc.ir import Circuit, Domain, FormatError, Input, InvalidCircuitError
from pcc.ir.bulk import circuit_from_table, group_table
from pcc.ir.table import DENSE, HADAMARD, concat_ranges
from pcc.ir.table import INPUT as INPUT_CODE

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
    Products are one-unit hadamard, sums one-unit dense groups.
    """
    n = len(kind)
    if n == 0:
        raise FormatError("the file has no nodes", path)
    keep = reachable(n - 1, child_start, children)
    new_id = np.cumsum(keep) - 1
    kept = np.flatnonzero(keep)
    kept_lines = np.unique(lines[kept])
    lost = np.setdiff1d(lines[~keep], kept_lines)
    is_input = kind == INPUT
    lost_inner = np.setdiff1d(lines[~keep & ~is_input], kept_lines)
    used = np.fromiter((v for v, _, _ in inputs), np.int64, len(inputs))[keep[is_input]]
    warn_unused(path, len(lost), len(lost_inner), len(lost) + len(kept_lines), used,
                len(domains), f"{path}:{lines[-1]}")
    counts = child_start[kept + 1] - child_start[kept]
    edges = concat_ranges(child_start[kept], counts)
    ptr = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    kept_kind = kind[kept]
    code = np.where(kept_kind == PRODUCT, HADAMARD,
                    np.where(kept_kind == SUM, DENSE, INPUT_CODE))
    weights = edge_weight[edges[np.repeat(kept_kind == SUM, counts)]]
    table = group_table(code, np.ones(len(kept), np.int64), ptr, new_id[children[edges]],
                        weights)
    origin_of = _origins(path, lines[kept])
    input_of = np.cumsum(kind == INPUT) - 1  # record -> position in `inputs`
    made = []
    for g, r in zip(np.flatnonzero(kept_kind == INPUT).tolist(),
                    input_of[kept[kept_kind == INPUT]].tolist()):
        var, family, params = inputs[r]
        try:
            made.append(Input(g, 1, var, family,
                              {k: np.reshape(v, (1,) + np.shape(v)) for k, v in params.items()},
                              origin_of[g]))
        except ValueError as error:
            raise FormatError(str(error), *_where(origin_of[g], path)) from None
    try:
        return circuit_from_table(table, made, domains, origin_of)
    except InvalidCircuitError as error:
        import re

        first = re.search(r"#(\d+)", error.problems[0])  # the group the first problem names
        index = int(first.group(1)) if first else -1
        where = origin_of[index] if 0 <= index < len(origin_of) else None
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
