"""Live SPFlow (0.0.x) node graphs -> `Circuit`, read by duck typing (pcc does not import SPFlow).

A node is classified by the class names in its MRO: `Sum` (`children`, `weights`), `Product`
(`children`), or a leaf `Bernoulli`/`Categorical`/`Gaussian`/`Poisson`/`Histogram` with a
one-variable `scope`. Shared children (DAGs) stay one group. Sum weights are kept exactly as
given (SPFlow only asserts they sum to 1 within 1e-5). Where pcc differs from SPFlow's own
`log_likelihood` on purpose, see docs/frontends.md (no clamping of -inf, no probability 1 for a
Categorical value outside its table, no EPSILON floor for histograms).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.frontends._spflow import LEAVES, add_leaf, choose_domains
from pcc.frontends._text import Records
from pcc.ir import Circuit, Domain, FormatError


def _kind(node: object) -> str:
    names = [c.__name__ for c in type(node).__mro__]
    for name in ("Sum", "Product", *LEAVES):
        if name in names:
            return name
    return type(node).__name__


def _origin(node: object) -> str:
    name = getattr(node, "name", None)
    return f"SPFlow {name if isinstance(name, str) else type(node).__name__}"


def from_spflow(root: object, domains: Sequence[Domain] | None = None,
                num_vars: int | None = None) -> Circuit:
    """The circuit of an SPFlow node graph rooted at `root`.

    `domains` overrides the domains chosen from the leaves; `num_vars` (default: largest
    variable in a scope + 1) lets the circuit cover variables no leaf mentions."""
    order: list[object] = []
    seen: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:  # iterative post-order: SPFlow graphs can be deeper than Python's recursion
        node, expanded = stack.pop()
        key = id(node)
        if key in seen:
            continue
        if expanded:
            on_path.discard(key)
            seen[key] = len(order)
            order.append(node)
            continue
        if key in on_path:
            raise FormatError(f"{_origin(node)}: the graph has a cycle")
        on_path.add(key)
        stack.append((node, True))
        kind = _kind(node)
        if kind in ("Sum", "Product"):
            children = getattr(node, "children", None)
            if not isinstance(children, (list, tuple)) or not children:
                raise FormatError(f"{_origin(node)}: a {kind} needs a non-empty children list")
            for child in reversed(children):
                if id(child) in on_path:
                    raise FormatError(f"{_origin(node)}: the graph has a cycle")
                stack.append((child, False))
    leaves = []
    for node in order:
        kind = _kind(node)
        if kind in ("Sum", "Product"):
            continue
        if kind not in LEAVES:
            raise FormatError(f"{_origin(node)}: pcc does not support SPFlow leaf type {kind} "
                              f"(supported: {', '.join(LEAVES)})")
        scope = getattr(node, "scope", None)
        if not isinstance(scope, (list, tuple)) or len(scope) != 1:
            raise FormatError(f"{_origin(node)}: a leaf needs a one-variable scope, got {scope!r}")
        try:
            var = int(scope[0])
        except (TypeError, ValueError):
            raise FormatError(f"{_origin(node)}: bad scope {scope!r}") from None
        if var < 0:
            raise FormatError(f"{_origin(node)}: bad scope {scope!r}")
        params = {name: getattr(node, name, None) for name in LEAVES[kind]}
        leaves.append((kind, var, params, _origin(node)))
    n = num_vars if num_vars is not None else max((v for _, v, _, _ in leaves), default=-1) + 1
    if domains is None:
        domains = choose_domains(leaves, n)
    domains = list(domains)
    rec = Records()
    leaf_iter = iter(leaves)
    for node in order:
        kind = _kind(node)
        if kind == "Sum":
            w = np.asarray(getattr(node, "weights", None), dtype=np.float64)
            children = [seen[id(c)] for c in node.children]  # type: ignore[attr-defined]
            if w.shape != (len(children),):
                raise FormatError(f"{_origin(node)}: {len(children)} children but weights "
                                  f"{w.tolist()}")
            rec.add("sum", children, w, _origin(node))
        elif kind == "Product":
            rec.add("product", [seen[id(c)] for c in node.children], None,  # type: ignore
                    _origin(node))
        else:
            kind, var, params, origin = next(leaf_iter)
            if var >= len(domains):
                raise FormatError(f"{origin}: variable {var} is outside the {len(domains)} "
                                  "domains given")
            add_leaf(rec, kind, var, params, origin, domains[var])
    return rec.build(domains, _origin(root))
