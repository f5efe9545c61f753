"""Structured decomposability: every product splits its children along one vtree.

A product respects a vtree when its children's scopes can be split recursively at the lowest
vtree node covering them: at that node every child lies wholly on the left or the right, and
each side with two or more children is split the same way further down.

`structured(circuit, vtree)` checks a given `pcc.ir.Vtree`; without one it looks for the vtree
the circuit implies (`implied_vtree`). Both assume a decomposable circuit: a product whose
children share variables is reported by `decomposability`, not here.
"""

from __future__ import annotations

from pcc.analysis.decomposability import overlapping
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


def respects(vtree: Vtree, child_masks: tuple[int, ...]) -> Failure | None:
    """None when the scopes split recursively along `vtree`; otherwise the vtree node where
    the split fails, the indices of the children split there, and those that straddle it."""
    stack = [tuple(range(len(child_masks)))]
    while stack:
        part = stack.pop()
        if len(part) < 2:
            continue
        union = 0
        for i in part:
            union |= child_masks[i]
        node = vtree.lowest_covering(union)
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
    for product, children, child_masks in _splits(circuit):
        union = 0
        for m in child_masks:
            union |= m
        if union & outside:
            continue  # already reported at the root
        if child_masks not in memo:
            memo[child_masks] = respects(vtree, child_masks)
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


class _Components:
    """Union-find over variable ids that also keeps each component's variables as a bitmask,
    so that joining a scope costs one step per component it meets, not one per variable."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.mask: dict[int, int] = {}  # root -> its variables

    def find(self, v: int) -> int:
        parent = self.parent
        root = v
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(v, v) != root:  # path compression
            parent[v], v = root, parent[v]
        return root

    def join(self, scope: int) -> bool:
        """Put every variable of `scope` in one component; True when two components merged."""
        anchor = self.find((scope & -scope).bit_length() - 1)
        joined = self.mask.get(anchor, 1 << anchor)
        rest = scope & ~joined
        if not rest:
            return False
        while rest:
            r = self.find((rest & -rest).bit_length() - 1)
            theirs = self.mask.pop(r, 1 << r)
            self.parent[r] = anchor
            joined |= theirs
            rest &= ~theirs
        self.mask[anchor] = joined
        return True


def implied_vtree(circuit: Circuit) -> tuple[Vtree | None, Violation | None]:
    """A vtree that every decomposable product respects, or None and a violation naming the
    products that keep a set of variables from being split in two.

    For a variable set V with its splits (products inside V, or the part of a product that fell
    on V's side), the child scopes must each stay on one side of V's vtree node: the connected
    components of those scopes are the finest split, and any grouping of them works (restricting
    a valid vtree to a union of components keeps it valid), so the search never backtracks.
    """
    root_mask = circuit.scope_masks[-1]
    left: list[int] = []
    right: list[int] = []
    var: list[int] = []
    # distinct child-mask tuples: products over the same scopes give the same constraint
    first: dict[tuple[int, ...], Split] = {}
    for split in _splits(circuit):
        first.setdefault(split[2], split)
    # work items: (variable set, its splits); results: node index per finished item
    tasks: list[tuple[int, list[Split]]] = [(root_mask, list(first.values()))]
    results: dict[int, int] = {}  # position in `tasks` -> vtree node
    order: list[tuple[int, list[int]]] = []  # (task, child tasks) built bottom-up later
    i = 0
    while i < len(tasks):
        mask, splits = tasks[i]
        if mask & (mask - 1) == 0:
            order.append((i, []))
            i += 1
            continue
        uf = _Components()
        blamed: list[Split] = []
        # widest scopes first: the narrower ones then mostly fall inside a component at once
        scopes = sorted(((m.bit_count(), m, k) for k, s in enumerate(splits) for m in s[2]
                         if m & (m - 1)), reverse=True)
        for _, child_mask, k in scopes:
            if uf.join(child_mask) and (not blamed or blamed[-1] is not splits[k]):
                blamed.append(splits[k])
        components: dict[int, int] = {}
        rest = mask
        while rest:
            r = uf.find((rest & -rest).bit_length() - 1)
            components[r] = uf.mask.get(r, 1 << r)
            rest &= ~components[r]
        if len(components) == 1:
            return None, _no_vtree(mask, blamed)
        parts = list(components.values())
        index = {r: k for k, r in enumerate(components)}
        sub: list[list[Split]] = [[] for _ in parts]
        for product, children, child_masks in splits:
            side: dict[int, list[int]] = {}
            for k, m in enumerate(child_masks):
                side.setdefault(index[uf.find((m & -m).bit_length() - 1)], []).append(k)
            for part, ks in side.items():
                if len(ks) >= 2:
                    sub[part].append((product, tuple(children[k] for k in ks),
                                      tuple(child_masks[k] for k in ks)))
        order.append((i, list(range(len(tasks), len(tasks) + len(parts)))))
        tasks += list(zip(parts, sub))
        i += 1
    # build nodes children-first: leaves, then a balanced tree over each set's components
    for task, kids in reversed(order):
        mask = tasks[task][0]
        if not kids:
            left.append(-1)
            right.append(-1)
            var.append(mask.bit_length() - 1)
            results[task] = len(var) - 1
            continue
        nodes = [results[k] for k in kids]
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
        results[task] = nodes[0]
    return Vtree(tuple(left), tuple(right), tuple(var)), None


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
