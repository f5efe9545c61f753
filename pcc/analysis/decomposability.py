"""Decomposability: the children of every product group have pairwise disjoint scopes."""

from __future__ import annotations

from typing import Mapping, Sequence

from pcc.analysis.report import Report, Violation, format_scope
from pcc.analysis.screen import masks_of, overlap_suspects
from pcc.analysis.smoothness import describe_children
from pcc.ir import Circuit


def overlapping(children: tuple[int, ...],
                masks: Sequence[int] | Mapping[int, int]) -> tuple[list[int], int]:
    """The children whose scope meets another child's scope (in child order; a child listed
    twice counts), and the union of the shared variables."""
    seen = 0
    shared = 0
    for c in children:
        shared |= seen & masks[c]
        seen |= masks[c]
    if not shared:
        return [], 0
    return [c for c in children if masks[c] & shared], shared


def decomposability(circuit: Circuit) -> Report:
    """`decomposable` and one violation per product whose children share variables; the
    message names every child that shares one, with its scope, and the shared variables."""
    violations = []
    for g in overlap_suspects(circuit).tolist():
        group = circuit.groups[g]
        masks = masks_of(circuit, group.children)
        kids, shared = overlapping(group.children, masks)
        if not kids:
            continue
        scopes = [masks[c] for c in kids]
        message = (f"product #{group.id} is not decomposable: {describe_children(kids, scopes)}"
                   f"; shared: {format_scope(shared)}")
        violations.append(Violation("decomposability", group.id, "product", tuple(kids),
                                    tuple(scopes), message))
    return Report(decomposable=not violations, violations=tuple(violations))
