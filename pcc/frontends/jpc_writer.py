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
from typing import Iterator

import numpy as np

from pcc.frontends._text import not_representable
from pcc.frontends._writing import label, require_one_unit
from pcc.ir import Circuit, Domain, FormatError, Input
from pcc.ir.table import DENSE, INPUT, MIXING, GroupTable, concat_ranges

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


FAMILIES = ("indicator", "categorical", "bernoulli", "binomial", "gaussian")
CHUNK = 1 << 18  # edges formatted at a time: bounds the strings alive at once (~30 MB)


def format_jpc(circuit: Circuit) -> str:
    """The `.jpc` text of a circuit of one-unit groups; FormatError for what the format cannot
    hold (a group of several units, an input family it has no line for)."""
    return "".join(jpc_chunks(circuit))


def jpc_chunks(circuit: Circuit) -> Iterator[str]:
    """`format_jpc`'s text in pieces of about `CHUNK` edges (the header first)."""
    _check(circuit)
    t = circuit.table
    yield HEADER + f"jpc {len(t)}\n"
    ptr = t.ptr
    cuts = np.searchsorted(ptr, np.arange(CHUNK, ptr[-1], CHUNK))
    bounds = np.unique(np.concatenate([[0], cuts, [len(t)]])).tolist()
    is_sum = np.isin(t.code, (DENSE, MIXING))
    for g0, g1 in zip(bounds[:-1], bounds[1:]):
        yield _chunk(circuit, t, is_sum, g0, g1)


def _check(circuit: Circuit) -> None:
    require_one_unit(circuit, ".jpc")
    for g in circuit.groups:
        if isinstance(g, Input) and g.family not in FAMILIES:
            raise FormatError(f"{label(g)} is {g.family}; .jpc holds indicator, categorical, "
                              "bernoulli, binomial and gaussian inputs")


def _chunk(circuit: Circuit, t: GroupTable, is_sum: np.ndarray, g0: int, g1: int) -> str:
    """The node lines of groups g0..g1-1."""
    ptr = t.ptr[g0:g1 + 1].tolist()
    e0 = ptr[0]
    kids = list(map(str, t.child[e0:ptr[-1]].tolist()))
    # a sum's tokens alternate child id and log-weight; one-unit sums over one-unit children:
    # the raveled weights line up with the sums' edges, in order
    sums = np.flatnonzero(is_sum[g0:g1]) + g0
    w0 = int(t.weight_ptr[sums[0]]) if len(sums) else 0
    edges = concat_ranges(t.ptr[sums] - e0, t.nchild[sums]).tolist()
    pairs: list[str] = [""] * (2 * len(edges))
    pairs[0::2] = [kids[e] for e in edges]
    with np.errstate(divide="ignore"):
        pairs[1::2] = map(repr, np.log(t.weights[w0:w0 + len(edges)]).tolist())
    at = (2 * (t.weight_ptr[g0:g1] - w0)).tolist()
    out = []
    for g, code in enumerate(t.code[g0:g1].tolist(), g0):
        i = g - g0
        n = ptr[i + 1] - ptr[i]
        if code == INPUT:
            group = circuit[g]
            assert isinstance(group, Input)  # internal: the table says so
            out.append(_leaf_line(group, circuit.domains[group.var]))
        elif code >= DENSE:
            out.append(f"S {g} 0 {n} {' '.join(pairs[at[i]:at[i] + 2 * n])}\n")
        else:
            out.append(f"P {g} 0 {n} {' '.join(kids[ptr[i] - e0:ptr[i + 1] - e0])}\n")
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
    raise AssertionError(f"{g.family} inputs are refused by _check")  # internal


def _num(x: float) -> str:
    return repr(float(x))


def save_jpc(circuit: Circuit, path: str | Path) -> None:
    """Write `circuit` (one-unit groups) as a `.jpc` file, piece by piece. What the format
    cannot hold is refused before the file is opened."""
    not_representable(lambda: _check(circuit), path, ".jpc")
    with open(path, "w") as f:
        f.writelines(jpc_chunks(circuit))
