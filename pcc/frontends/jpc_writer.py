"""`Circuit` -> ProbabilisticCircuits.jl `.jpc` text (the format `pcc.frontends.jpc` reads).

Representable: one-unit groups (`pcc.transforms.Scalarize` makes them from any circuit); sums
(written with log-weights, `-inf` for an exact zero), products, and inputs the format has:
indicators (`L` for binary variables, `I` otherwise), categoricals and bernoullis (`C`),
binomials (`B`), gaussians (`G`). Ids are the group ids, the vtree id is 0. Numbers are written
in full (shortest round-trip form), so reading the file back gives the same circuit.

The node lines come from the circuit's table: one string per id and per weight, one join per
node (a scalarized PD EiNet of 6.8M edges: about 5 s, where a format call per edge took 20).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.frontends._text import not_representable
from pcc.frontends._writing import label, require_one_unit
from pcc.ir import Circuit, Domain, FormatError, Input
from pcc.ir.table import DENSE, INPUT, MIXING

HEADER = """c this file was saved by pcc
c ids of jpc nodes start at 0
c jpc nodes appear bottom-up, children before parents
c
c file syntax:
c jpc count-of-jpc-nodes
c L id-of-jpc-node id-of-vtree literal
c I id-of-jpc-node id-of-vtree variable value
c C id-of-jpc-node id-of-vtree variable {log-probability}+
c B id-of-jpc-node id-of-vtree variable trials log-probability
c G id-of-jpc-node id-of-vtree variable mean std
c P id-of-product-jpc-node id-of-vtree number-of-children {child-id}+
c S id-of-sum-jpc-node id-of-vtree number-of-children {child-id log-probability}+
c
"""


def format_jpc(circuit: Circuit) -> str:
    """The `.jpc` text of a circuit of one-unit groups; FormatError for what the format cannot
    hold (a group of several units, an input family it has no line for)."""
    require_one_unit(circuit, ".jpc")
    t = circuit.table
    ptr = t.ptr.tolist()
    kids = list(map(str, t.child.tolist()))
    # a sum's tokens alternate child id and log-weight; one-unit sums over one-unit children:
    # the raveled weights line up with the sums' edges, in order
    is_sum = np.isin(t.code, (DENSE, MIXING))
    pairs: list[str] = [""] * (2 * len(t.weights))
    pairs[0::2] = [kids[e] for e in np.flatnonzero(is_sum[t.owner]).tolist()]
    with np.errstate(divide="ignore"):
        pairs[1::2] = map(repr, np.log(t.weights).tolist())
    at = np.where(is_sum, 2 * t.weight_ptr, 0).tolist()
    out = [HEADER, f"jpc {len(t)}\n"]
    for g, code in enumerate(t.code.tolist()):
        n = ptr[g + 1] - ptr[g]
        if code == INPUT:
            group = circuit[g]
            assert isinstance(group, Input)  # internal: the table says so
            out.append(_leaf_line(group, circuit.domains[group.var]))
        elif code >= DENSE:
            out.append(f"S {g} 0 {n} {' '.join(pairs[at[g]:at[g] + 2 * n])}\n")
        else:
            out.append(f"P {g} 0 {n} {' '.join(kids[ptr[g]:ptr[g + 1]])}\n")
    return "".join(out)


def _leaf_line(g: Input, domain: Domain) -> str:
    p = {k: v[0] for k, v in g.params.items()}
    v = g.var + 1
    with np.errstate(divide="ignore"):
        if g.family == "indicator" and domain.kind == "binary":
            return f"L {g.id} 0 {v if p['value'] == 1 else -v}\n"
        if g.family == "indicator":
            return f"I {g.id} 0 {v} {int(p['value'])}\n"
        if g.family == "categorical":
            return f"C {g.id} 0 {v} " + " ".join(_num(x) for x in np.log(p["probs"])) + "\n"
        if g.family == "bernoulli":
            return f"C {g.id} 0 {v} {_num(np.log1p(-p['p']))} {_num(np.log(p['p']))}\n"
        if g.family == "binomial":
            return f"B {g.id} 0 {v} {int(p['n'])} {_num(np.log(p['p']))}\n"
        if g.family == "gaussian":
            return f"G {g.id} 0 {v} {_num(p['mean'])} {_num(p['std'])}\n"
    raise FormatError(f"{label(g)} is {g.family}; .jpc holds indicator, categorical, "
                      "bernoulli, binomial and gaussian inputs")


def _num(x: float) -> str:
    return repr(float(x))


def save_jpc(circuit: Circuit, path: str | Path) -> None:
    """Write `circuit` (one-unit groups) as a `.jpc` file."""
    text = not_representable(lambda: format_jpc(circuit), path, ".jpc")
    Path(path).write_text(text)
