"""`Circuit` -> SPFlow text (ref-graph or equation form), where SPFlow can hold the circuit.

Representable: one-unit groups (`pcc.transforms.Scalarize` makes them from any circuit), dense
sums, products, and inputs SPFlow has:
bernoulli, categorical, gaussian, poisson, histogram; an indicator becomes a one-hot
Categorical. Both forms are trees, so a shared node is written under each parent, as SPFlow
itself does (the ref-graph reader merges it back by name); a DAG whose tree would exceed
`MAX_TREE_NODES` is refused instead of writing gigabytes. Numbers are written with full
precision (SPFlow's own histogram printer rounds to 4 decimals).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.frontends._text import not_representable
from pcc.frontends._writing import require_one_unit, tree_size
from pcc.ir import Circuit, FormatError, Input, Product, Sum

MAX_TREE_NODES = 2_000_000
_LEAF_NAMES = {"bernoulli": "Bernoulli", "categorical": "Categorical", "indicator": "Categorical",
               "gaussian": "Gaussian", "poisson": "Poisson", "histogram": "Histogram"}


def _num(x: float) -> str:
    return repr(float(x))


def _check(circuit: Circuit) -> None:
    require_one_unit(circuit, "SPFlow text")
    for g in circuit.groups:
        if isinstance(g, Sum) and g.mode != "dense" or isinstance(g, Input) and \
                g.family not in _LEAF_NAMES:
            what = g.family if isinstance(g, Input) else g.mode
            raise FormatError(f"group #{g.id} ({what}) has no SPFlow text form"
                              + (f" (from {g.origin})" if g.origin else ""))
    size = tree_size(circuit)
    if size > MAX_TREE_NODES:
        raise FormatError(f"SPFlow text is a tree: this DAG would expand to {size:.3g} nodes "
                          f"(limit {MAX_TREE_NODES}); use .pcc or .jpc")


def _leaf(circuit: Circuit, g: Input, repr_points: bool = False) -> str:
    p = {k: v[0] for k, v in g.params.items()}
    f = f"V{g.var}"
    if g.family == "bernoulli":
        return f"Bernoulli({f}|p={_num(p['p'])})"
    if g.family in ("categorical", "indicator"):
        if g.family == "indicator":
            size = circuit.domains[g.var].size
            if size is None:
                raise FormatError(f"input #{g.id}: an indicator over {circuit.domains[g.var]} "
                                  "has no Categorical form")
            probs = np.zeros(size)
            probs[int(p["value"])] = 1.0
        else:
            probs = p["probs"]
        return f"Categorical({f}|p=[{', '.join(_num(x) for x in probs)}])"
    if g.family == "gaussian":
        return f"Gaussian({f}|mean={_num(p['mean'])};stdev={_num(p['std'])})"
    if g.family == "poisson":
        return f"Poisson({f}|mean={_num(p['rate'])})"
    breaks = ",".join(_num(x) for x in p["breaks"])
    dens = ",".join(_num(x) for x in p["densities"])
    if not repr_points:
        return f"Histogram({f}|[{breaks}];[{dens}])"
    # SPFlow's str_to_spn wants bin_repr_points (used for MPE/sampling only): bin midpoints
    mids = ",".join(_num(x) for x in (p["breaks"][:-1] + p["breaks"][1:]) / 2)
    return f"Histogram({f}|[{breaks}];[{dens}];[{mids}])"


def _name(g: object) -> str:
    if isinstance(g, Sum):
        return f"SumNode_{g.id}"
    if isinstance(g, Product):
        return f"ProductNode_{g.id}"
    assert isinstance(g, Input)  # internal: every other kind returned above
    return f"{_LEAF_NAMES[g.family]}Node_{g.id}"


def format_equation(circuit: Circuit) -> str:
    """`spn_to_str_equation` form."""
    _check(circuit)
    memo: dict[int, str] = {}
    for g in circuit.groups:
        if isinstance(g, Input):
            memo[g.id] = _leaf(circuit, g, repr_points=True)
        elif isinstance(g, Product):
            memo[g.id] = "(" + " * ".join(memo[c] for c in g.children) + ")"
        else:
            memo[g.id] = "(" + " + ".join(f"{_num(w)}*({memo[c]})"
                                          for w, c in zip(g.weights[0], g.children)) + ")"
    return memo[len(circuit) - 1] + "\n"


def format_graph(circuit: Circuit) -> str:
    """`spn_to_str_ref_graph` form, with a `# V0;V1;...` feature line."""
    _check(circuit)
    out: list[str] = []
    stack: list[tuple[int, int, bool]] = [(len(circuit) - 1, 0, False)]
    while stack:
        gid, depth, closing = stack.pop()
        pad = "\t" * depth
        if closing:
            out.append(pad + "\t}\n")
            continue
        g = circuit[gid]
        if isinstance(g, Input):
            out.append(f"{pad}{_name(g)} {_leaf(circuit, g)}\n")
            continue
        if isinstance(g, Sum):
            refs = ", ".join(f"{_num(w)}*{_name(circuit[c])}"
                             for w, c in zip(g.weights[0], g.children))
            out.append(f"{pad}{_name(g)} SumNode({refs}){{\n")
        else:
            refs = ", ".join(_name(circuit[c]) for c in g.children)
            out.append(f"{pad}{_name(g)} ProductNode({refs}){{\n")
        stack.append((gid, depth, True))
        stack += [(c, depth + 1, False) for c in reversed(g.children)]
    out.append("# " + ";".join(f"V{v}" for v in range(circuit.num_vars)) + "\n")
    return "".join(out)


def save_spflow_text(circuit: Circuit, path: str | Path, form: str = "graph") -> None:
    """Write `circuit` in SPFlow's ref-graph (`form="graph"`) or equation form."""
    write = format_graph if form == "graph" else format_equation
    text = not_representable(lambda: write(circuit), path, "SPFlow text")
    Path(path).write_text(text)


def save_spflow_equation(circuit: Circuit, path: str | Path) -> None:
    save_spflow_text(circuit, path, form="equation")
