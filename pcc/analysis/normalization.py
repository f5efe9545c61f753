"""Normalization: sum weights are non-negative and sum to 1 per unit, and input parameters
describe normalized distributions (each family's `totals`: categorical probs sum to 1, histogram
densities times bin widths sum to 1). Other families are normalized by construction.
"""

from __future__ import annotations

import numpy as np

from pcc.analysis.report import Report, Violation
from pcc.analysis.rows import sum_rows
from pcc.families import family
from pcc.ir import Circuit, Input, Sum

TOLERANCE = 1e-6  # absolute, per unit: allows weights stored in float32 and renormalized


def _violation(circuit: Circuit, group: Input | Sum, totals: np.ndarray, negative: np.ndarray,
               bad: np.ndarray, what: str) -> Violation:
    units = np.flatnonzero(bad)
    first = int(units[0])
    name = (f"sum #{group.id}" if isinstance(group, Sum)
            else f"input #{group.id} ({group.family})")
    detail = (f"unit {first} has a negative or non-finite weight" if negative[first]
              else f"unit {first}: {what} to {float(totals[first])!r}")
    others = f" ({len(units)} of {group.units} units are off)" if len(units) > 1 else ""
    masks = circuit.scope_masks
    return Violation("normalization", group.id, group.kind, group.children,
                     tuple(masks[c] for c in group.children),
                     f"{name} is not normalized: {detail}{others}")


def normalization(circuit: Circuit, tolerance: float = TOLERANCE) -> Report:
    """`normalized` and one violation per group with a unit whose total is not 1 (within
    `tolerance`) or that has a negative or non-finite weight; names the first bad unit and
    how many there are."""
    found: dict[int, Violation] = {}
    for group in circuit.groups:
        if isinstance(group, Input):
            totals = family(group.family).totals(dict(group.params))
            if totals is not None:
                bad = ~(np.abs(totals[0] - 1.0) <= tolerance)
                if bad.any():
                    found[group.id] = _violation(circuit, group, totals[0], np.zeros_like(bad),
                                                 bad, totals[1])
    rows = sum_rows(circuit)
    off = rows.bad | ~(np.abs(rows.totals - 1.0) <= tolerance)
    # the sums with an offending row: group index k of row r is searchsorted(first, r)
    for k in np.unique(np.searchsorted(rows.first, np.flatnonzero(off), side="right") - 1):
        a, b = rows.first[k], rows.first[k + 1]
        group = circuit.groups[int(rows.ids[k])]
        if not isinstance(group, Sum):
            raise TypeError(f"{group.kind} #{group.id} is not a sum")
        found[group.id] = _violation(circuit, group, rows.totals[a:b], rows.bad[a:b],
                                     off[a:b], "weights sum")
    violations = tuple(found[id] for id in sorted(found))
    return Report(normalized=not violations, violations=violations)
