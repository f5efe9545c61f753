"""The vtree a circuit implies, if one exists (structured decomposability without a vtree).

A "split" is a product with two or more children over disjoint scopes: `(product id, child
ids, child scope masks)`; the part of a product that falls on one side of a vtree node is a
split too (its children on that side). Top-down, for a variable set V and its splits, each
child scope must stay on one side of V's vtree node: the connected components of the child
scopes are the finest way to split V, and any grouping of the components works (restricting a
valid vtree to a union of components keeps it valid), so the search never backtracks.

Speed: a split that lies inside a child scope C of another split t cannot change the
components while C is one of t's children in the current set, so it stays *hidden* under
(t, C) and is only looked at once t is cut so that C stands alone. Each level then touches
the few splits cut near it, not every split below it: a right-linear vtree over thousands of
variables takes as long as a balanced one.
"""

from __future__ import annotations

from pcc.analysis.decomposability import overlapping
from pcc.ir import Circuit, Vtree
from pcc.ir.circuit import mask_to_vars

Split = tuple[int, tuple[int, ...], tuple[int, ...]]
Hidden = dict[tuple[int, int], list[Split]]


def _splits(circuit: Circuit) -> tuple[list[Split], Hidden]:
    """The splits seen from the root, and the others hidden under (split id, its child on the
    path from it, through first parents)."""
    masks, groups, parents = circuit.scope_masks, circuit.groups, circuit.parents
    is_split = [g.kind == "product" and len(g.children) >= 2
                and not overlapping(g.children, masks)[0] for g in groups]
    up: list[tuple[int, int] | None] = [None] * len(groups)
    for i in reversed(range(len(groups))):  # parents have larger ids: set before children
        if parents[i]:
            p = parents[i][0]
            up[i] = (p, i) if is_split[p] else up[p]
    exposed: list[Split] = []
    hidden: Hidden = {}
    for g in groups:
        if is_split[g.id]:
            split = (g.id, g.children, tuple(masks[c] for c in g.children))
            where = up[g.id]
            if where is None:
                exposed.append(split)
            else:
                hidden.setdefault(where, []).append(split)
    return exposed, hidden


def _components(mask: int, splits: list[Split]) -> tuple[list[int], list[Split]]:
    """The components of `mask` joined by the splits' child scopes (widest first, so that the
    narrower ones mostly fall inside one at once), and the splits whose scopes joined some."""
    joined: list[int] = []  # components of two or more variables
    blamed: list[Split] = []
    scopes = sorted(((m.bit_count(), m, k) for k, s in enumerate(splits) for m in s[2]
                     if m & (m - 1)), reverse=True)
    for _, scope, k in scopes:
        if any(scope & ~c == 0 for c in joined):
            continue
        merged, keep = scope, []
        for c in joined:
            if c & scope:
                merged |= c
            else:
                keep.append(c)
        joined = keep + [merged]
        if not blamed or blamed[-1] is not splits[k]:
            blamed.append(splits[k])
    covered = 0
    for c in joined:
        covered |= c
    singles = mask & ~covered
    return joined + [1 << v for v in mask_to_vars(singles)], blamed


def search_vtree(circuit: Circuit) -> tuple[Vtree | None, int, list[Split]]:
    """A vtree that every split respects; or None, the variable set that no vtree node can
    split in two, and the splits that joined it (the last one forced it)."""
    exposed, hidden = _splits(circuit)
    tasks: list[tuple[int, list[Split]]] = [(circuit.scope_masks[-1], exposed)]
    kids_of: list[list[int]] = []  # per task: its sub-tasks (none for a leaf)
    i = 0
    while i < len(tasks):
        mask, splits = tasks[i]
        i += 1
        if mask & (mask - 1) == 0:
            kids_of.append([])
            continue
        parts, blamed = _components(mask, splits)
        if len(parts) == 1:
            return None, mask, blamed
        parts.sort(key=lambda part: part & -part)  # by lowest variable: a readable vtree
        wide = [j for j, part in enumerate(parts) if part & (part - 1)]
        sub: list[list[Split]] = [[] for _ in parts]
        index = {part: k for k, part in enumerate(parts)}
        for product, children, child_masks in splits:
            side: dict[int, list[int]] = {}
            for k, m in enumerate(child_masks):
                part = index.get(m)
                if part is None:
                    part = next(j for j in wide if parts[j] & m)
                side.setdefault(part, []).append(k)
            for part, ks in side.items():
                if len(ks) >= 2:
                    sub[part].append((product, tuple(children[k] for k in ks),
                                      tuple(child_masks[k] for k in ks)))
                else:  # the child stands alone: the splits hidden under it come into view
                    sub[part] += hidden.get((product, children[ks[0]]), [])
        kids_of.append(list(range(len(tasks), len(tasks) + len(parts))))
        tasks += list(zip(parts, sub))
    return _build(tasks, kids_of), 0, []


def _build(tasks: list[tuple[int, list[Split]]], kids_of: list[list[int]]) -> Vtree:
    """Vtree nodes children-first: a leaf per one-variable task, and a balanced tree over the
    components of every other task."""
    left: list[int] = []
    right: list[int] = []
    var: list[int] = []
    node_of: dict[int, int] = {}
    for task in reversed(range(len(tasks))):  # sub-tasks always come after their task
        kids = kids_of[task]
        if not kids:
            left.append(-1)
            right.append(-1)
            var.append(tasks[task][0].bit_length() - 1)
            node_of[task] = len(var) - 1
            continue
        nodes = [node_of[k] for k in kids]
        while len(nodes) > 1:
            paired = []
            for a in range(0, len(nodes) - 1, 2):
                left.append(nodes[a])
                right.append(nodes[a + 1])
                var.append(-1)
                paired.append(len(var) - 1)
            if len(nodes) % 2:
                paired.append(nodes[-1])
            nodes = paired
        node_of[task] = nodes[0]
    return Vtree(tuple(left), tuple(right), tuple(var))
