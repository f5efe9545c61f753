"""Normalization: sum weights are non-negative and sum to 1 per unit, and input parameters
describe normalized distributions (categorical probs sum to 1, histogram densities times bin
widths sum to 1). Other families are normalized by construction.
"""

from __future__ import annotations

import numpy as np

from pcc.analysis.report import Report, Violation
from pcc.ir import Circuit, Input, Product, Sum

TOLERANCE = 1e-6  # absolute, per unit: allows weights stored in float32 and renormalized


def _unit_totals(group: Input | Sum) -> tuple[np.ndarray, str] | None:
    """Per-unit totals that must equal 1, and what they are called; None when nothing to check."""
    if isinstance(group, Sum):
        return group.weights.sum(axis=1), "weights sum"
    if group.family == "categorical":
        return group.params["probs"].sum(axis=1), "probs sum"
    if group.family == "histogram":
        breaks, densities = group.params["breaks"], group.params["densities"]
        if breaks.shape[1] != densities.shape[1] + 1:
            return None  # not well-formed; verify() reports it
        return (densities * np.diff(breaks, axis=1)).sum(axis=1), "densities x bin widths sum"
    return None


def normalization(circuit: Circuit, tolerance: float = TOLERANCE) -> Report:
    """`normalized` and one violation per group with a unit whose total is not 1 (within
    `tolerance`) or that has a negative or non-finite weight; names the first bad unit and
    how many there are."""
    violations = []
    masks = circuit.scope_masks
    for group in circuit.groups:
        if isinstance(group, Product):
            continue
        found = _unit_totals(group)
        if found is None:
            continue
        totals, what = found
        values = group.weights if isinstance(group, Sum) else None
        negative = (np.any(~np.isfinite(values) | (values < 0), axis=1)
                    if values is not None else np.zeros(len(totals), bool))
        bad = negative | ~(np.abs(totals - 1.0) <= tolerance)
        if not bad.any():
            continue
        units = np.flatnonzero(bad)
        first = int(units[0])
        name = (f"sum #{group.id}" if isinstance(group, Sum)
                else f"input #{group.id} ({group.family})")
        detail = (f"unit {first} has a negative or non-finite weight" if negative[first]
                  else f"unit {first}: {what} to {float(totals[first])!r}")
        others = f" ({len(units)} of {group.units} units are off)" if len(units) > 1 else ""
        message = f"{name} is not normalized: {detail}{others}"
        violations.append(Violation("normalization", group.id, group.kind, group.children,
                                    tuple(masks[c] for c in group.children), message))
    return Report(normalized=not violations, violations=tuple(violations))
