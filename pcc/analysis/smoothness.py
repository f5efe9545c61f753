"""Smoothness: every child of a sum group has the same scope (group level, from the scope
screen of `pcc.analysis.screen`, then an exact check of the suspects)."""

from __future__ import annotations

from pcc.analysis.report import Report, Violation, format_scope
from pcc.analysis.screen import masks_of, unsmooth_suspects
from pcc.ir import Circuit

MAX_NAMED = 6  # children named per scope in one message


def describe_children(children: list[int], masks: list[int]) -> str:
    """`child #1 has scope {0}, children #2, #3 have scope {1}`: children grouped by scope,
    scopes in order of first appearance."""
    by_scope: dict[int, list[int]] = {}
    for child, mask in zip(children, masks):
        by_scope.setdefault(mask, []).append(child)
    parts = []
    for mask, ids in by_scope.items():
        named = ", ".join(f"#{c}" for c in ids[:MAX_NAMED])
        if len(ids) > MAX_NAMED:
            named += f" and {len(ids) - MAX_NAMED} more"
        word = "child" if len(ids) == 1 else "children"
        verb = "has" if len(ids) == 1 else "have"
        parts.append(f"{word} {named} {verb} scope {format_scope(mask)}")
    return ", ".join(parts)


def smoothness(circuit: Circuit) -> Report:
    """`smooth` and one violation per sum whose children's scopes differ (all children named)."""
    violations = []
    for g in unsmooth_suspects(circuit).tolist():
        group = circuit.groups[g]
        masks = masks_of(circuit, group.children)
        first = masks[group.children[0]]
        if all(masks[c] == first for c in group.children):
            continue
        kids = list(group.children)
        scopes = [masks[c] for c in kids]
        message = f"sum #{group.id} is not smooth: {describe_children(kids, scopes)}"
        violations.append(Violation("smoothness", group.id, "sum", tuple(kids), tuple(scopes),
                                    message))
    return Report(smooth=not violations, violations=tuple(violations))
