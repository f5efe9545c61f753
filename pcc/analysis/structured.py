"""Structured decomposability: every product splits its children along one vtree.

A product respects a vtree when its children's scopes can be split recursively at the lowest
vtree node covering them: at that node every child lies wholly on the left or the right, and
each side with two or more children is split the same way further down.

`structured(circuit, vtree)` checks a given `pcc.ir.Vtree`; without one it looks for the vtree
the circuit implies (`implied_vtree`). Both assume a decomposable circuit: a product whose
children share variables is reported by `decomposability`, not here.
"""

from __future__ import annotations

import numpy as np

from pcc.analysis.decomposability import overlapping
from pcc.analysis.implied_vtree import search_vtree
from pcc.analysis.report import Report, Violation, format_scope
from pcc.analysis.smoothness import describe_children
from pcc.ir import Circuit, Vtree

# A "split" is the child scopes one product must separate: (product id, child ids, child masks)
Split = tuple[int, tuple[int, ...], tuple[int, ...]]
# Where a product fails a vtree: (vtree node, children split there, children that straddle it)
Failure = tuple[int, tuple[int, ...], tuple[int, ...]]
MAX_BLAMED = 2


def _splits(circuit: Circuit) -> list[Split]:
    """Products with two or more children and pairwise disjoint child scopes."""
    masks = circuit.scope_masks
    out = []
    for g in circuit.groups:
        if g.kind == "product" and len(g.children) >= 2 and not overlapping(g.children, masks)[0]:
            out.append((g.id, g.children, tuple(masks[c] for c in g.children)))
    return out


class Covering:
    """`Vtree.lowest_covering` in O(log depth) instead of O(depth): the lowest node covering a
    set is the lowest common ancestor of its leftmost and rightmost leaves (in-order), found
    by binary lifting. Deep (right-linear) vtrees over thousands of variables need this."""

    def __init__(self, vtree: Vtree):
        n = len(vtree.var)
        self.vtree = vtree
        parent = list(range(n))  # the root is its own parent
        for i in range(n):
            if vtree.left[i] >= 0:
                parent[vtree.left[i]] = parent[vtree.right[i]] = i
        self.leaves: list[int] = []  # leaf nodes left to right
        stack = [vtree.root]
        while stack:
            node = stack.pop()
            if vtree.var[node] >= 0:
                self.leaves.append(node)
            else:
                stack += [vtree.right[node], vtree.left[node]]
        self.position = np.full(max(vtree.var) + 1, -1, dtype=np.int64)
        self.high = [0] * n  # position of each node's rightmost leaf
        for k, leaf in enumerate(self.leaves):
            self.position[vtree.var[leaf]] = k
            self.high[leaf] = k
        for i in range(n):  # children come before parents
            if vtree.var[i] < 0:
                self.high[i] = self.high[vtree.right[i]]
        self.jumps = [parent]
        while (1 << len(self.jumps)) < n:
            last = self.jumps[-1]
            self.jumps.append([last[last[i]] for i in range(n)])
        self.memo: dict[int, int] = {}

    def lowest(self, mask: int) -> int:
        """The deepest node whose variables include those of `mask` (all in the vtree)."""
        found = self.memo.get(mask)
        if found is not None:
            return found
        nbytes = (mask.bit_length() + 7) // 8
        bits = np.unpackbits(np.frombuffer(mask.to_bytes(nbytes, "little"), np.uint8),
                             bitorder="little")
        positions = self.position[np.flatnonzero(bits)]
        first, last = int(positions.min()), int(positions.max())
        node = self.leaves[first]
        if first != last:
            # climb to the highest ancestor that still ends before `last`; its parent covers it
            for level in reversed(self.jumps):
                if self.high[level[node]] < last:
                    node = level[node]
            node = self.jumps[0][node]
        self.memo[mask] = node
        return node


def respects(vtree: Vtree, child_masks: tuple[int, ...],
             covering: Covering | None = None) -> Failure | None:
    """None when the scopes split recursively along `vtree`; otherwise the vtree node where
    the split fails, the indices of the children split there, and those that straddle it."""
    lowest = (covering or Covering(vtree)).lowest
    stack = [tuple(range(len(child_masks)))]
    while stack:
        part = stack.pop()
        if len(part) < 2:
            continue
        union = 0
        for i in part:
            union |= child_masks[i]
        node = lowest(union)
        if vtree.var[node] >= 0:  # two disjoint non-empty scopes never share one leaf
            return node, part, part
        left_mask, right_mask = vtree.masks[vtree.left[node]], vtree.masks[vtree.right[node]]
        left = tuple(i for i in part if child_masks[i] & ~left_mask == 0)
        right = tuple(i for i in part if child_masks[i] & ~right_mask == 0)
        if len(left) + len(right) != len(part):
            return node, part, tuple(i for i in part if i not in left and i not in right)
        stack += [left, right]
    return None


def check_vtree(circuit: Circuit, vtree: Vtree) -> list[Violation]:
    """One violation per decomposable product that does not respect `vtree`."""
    masks = circuit.scope_masks
    violations = []
    outside = masks[-1] & ~vtree.masks[vtree.root]
    if outside:
        root = circuit.root
        violations.append(Violation(
            "structured-decomposability", root.id, root.kind, (), (outside,),
            f"{root.kind} #{root.id}: the vtree lacks the variables {format_scope(outside)}"))
    memo: dict[tuple[int, ...], Failure | None] = {}
    covering = Covering(vtree)
    for product, children, child_masks in _splits(circuit):
        union = 0
        for m in child_masks:
            union |= m
        if union & outside:
            continue  # already reported at the root
        if child_masks not in memo:
            memo[child_masks] = respects(vtree, child_masks, covering)
        found = memo[child_masks]
        if found is None:
            continue
        node, part, straddling = found
        kids = [children[i] for i in part]
        scopes = [child_masks[i] for i in part]
        bad = ", ".join(f"#{children[i]}" for i in straddling)
        where = (f"the vtree has only the leaf x{vtree.var[node]} there"
                 if vtree.var[node] >= 0 else
                 f"the vtree splits {format_scope(vtree.masks[node])} into "
                 f"{format_scope(vtree.masks[vtree.left[node]])} and "
                 f"{format_scope(vtree.masks[vtree.right[node]])}, which {bad} straddle"
                 + ("s" if len(straddling) == 1 else ""))
        message = (f"product #{product} does not respect the vtree: "
                   f"{describe_children(kids, scopes)}, but {where}")
        violations.append(Violation("structured-decomposability", product, "product",
                                    tuple(kids), tuple(scopes), message))
    return violations


def implied_vtree(circuit: Circuit) -> tuple[Vtree | None, Violation | None]:
    """The vtree every decomposable product respects (see `pcc.analysis.implied_vtree`), or
    None and a violation naming the products that rule every vtree out."""
    vtree, mask, blamed = search_vtree(circuit)
    return (vtree, None) if vtree is not None else (None, _no_vtree(mask, blamed))


def _no_vtree(mask: int, blamed: list[Split]) -> Violation:
    """Names the products whose child scopes joined `mask` into one piece; the last one is
    the product that forced it."""
    shown: list[str] = []
    for p, _, ms in blamed[:MAX_BLAMED]:
        scopes = [format_scope(m) for m in ms if m & (m - 1)]
        each = " each" if len(scopes) > 1 else ""
        shown.append(f"product #{p} keeps {' and '.join(scopes)}{each} on one side")
    more = f"; and {len(blamed) - MAX_BLAMED} more products" if len(blamed) > MAX_BLAMED else ""
    product, kids, child_masks = blamed[-1] if blamed else (-1, (), ())
    message = (f"product #{product} is not structured-decomposable: no vtree splits "
               f"{format_scope(mask)} in two, since {'; '.join(shown)}{more}")
    return Violation("structured-decomposability", product, "product", kids, child_masks,
                     message)


def structured(circuit: Circuit, vtree: Vtree | None = None) -> Report:
    """Check against `vtree`, or find the implied vtree when none is given."""
    if vtree is not None:
        violations = check_vtree(circuit, vtree)
        return Report(structured_decomposable=not violations, vtree=vtree,
                      vtree_source="given", violations=tuple(violations))
    found, violation = implied_vtree(circuit)
    if found is None:
        return Report(structured_decomposable=False, violations=(violation,) if violation else ())
    return Report(structured_decomposable=True, vtree=found, vtree_source="implied")
