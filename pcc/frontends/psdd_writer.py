"""`Circuit` -> UCLA `.psdd` (+ `.vtree`), where the circuit has the PSDD shape.

The PSDD shape: one-unit groups; inputs are indicators of binary variables (L) or Bernoullis
(T); a sum over the two literals of one variable with weights summing to 1 is written as a T;
every other sum is a D whose children are 2-input products (its elements); a product may also
be the root (a D with one element of weight 1). Without a vtree the writer uses the one the
circuit implies (`pcc.analysis.structured.implied_vtree`). Each element is written with the
child under the left vtree child first (as its prime), since a product's order carries no
meaning in pcc.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pcc.frontends._text import not_representable
from pcc.frontends.vtree_file import format_vtree
from pcc.ir import BINARY, Circuit, FormatError, Input, Product, Sum, Vtree

HEADER = """c ids of psdd nodes start at 0
c psdd nodes appear bottom-up, children before parents
c
c file syntax:
c psdd count-of-sdd-nodes
c L id-of-literal-sdd-node id-of-vtree literal
c T id-of-trueNode-sdd-node id-of-vtree variable log(litProb)
c D id-of-decomposition-sdd-node id-of-vtree number-of-elements {id-of-prime id-of-sub log(elementProb)}*
c
"""


def _num(x: float) -> str:
    return repr(float(x))


def _log(w: float) -> float:
    return math.log(w) if w > 0 else -math.inf


def _literal_pair(circuit: Circuit, g: Sum) -> tuple[int, float] | None:
    """(variable, log P(x=1)) when `g` is a normalized sum over both literals of a variable."""
    if len(g.children) != 2:
        return None
    kids = [circuit[c] for c in g.children]
    if not all(isinstance(k, Input) and k.family == "indicator" for k in kids):
        return None
    a, b = [k for k in kids if isinstance(k, Input)]
    if a.var != b.var or {int(a.params["value"][0]), int(b.params["value"][0])} != {0, 1}:
        return None
    w = g.weights[0]
    if abs(w.sum() - 1) > 1e-9:
        return None
    pos = w[0] if int(a.params["value"][0]) == 1 else w[1]
    return a.var, _log(pos)


def format_psdd(circuit: Circuit, vtree: Vtree | None = None) -> tuple[str, Vtree]:
    """The `.psdd` text and the vtree it refers to; FormatError when not representable."""
    if any(d != BINARY for d in circuit.domains):
        raise FormatError("a PSDD has binary variables only")
    _check_shape(circuit)  # cheap checks first: finding a vtree can take a while
    if vtree is None:
        from pcc.analysis.structured import implied_vtree

        vtree, why = implied_vtree(circuit)
        if vtree is None:
            raise FormatError(f"no vtree fits the circuit, so it has no PSDD form: {why}")
    leaf_of = {v: i for i, v in enumerate(vtree.var) if v >= 0}
    masks = circuit.scope_masks
    parents = circuit.parents
    out: list[str] = []
    count = 0
    for g in circuit.groups:
        if g.units != 1:
            raise FormatError(f"group #{g.id} has {g.units} units; a PSDD has one-unit nodes")
        if isinstance(g, Input):
            if g.var not in leaf_of:
                raise FormatError(f"input #{g.id}: variable x{g.var} is not in the vtree")
            vt = leaf_of[g.var]
            if g.family == "indicator":
                value = int(g.params["value"][0])
                out.append(f"L {g.id} {vt} {g.var + 1 if value == 1 else -(g.var + 1)}\n")
            elif g.family == "bernoulli":
                out.append(f"T {g.id} {vt} {g.var + 1} {_num(_log(g.params['p'][0]))}\n")
            else:
                raise FormatError(f"input #{g.id} is {g.family}; a PSDD has literals and "
                                  "Bernoullis (T nodes) only")
            count += 1
        elif isinstance(g, Product):
            if g.id != len(circuit) - 1 and not all(isinstance(circuit[p], Sum)
                                                     for p in parents[g.id]):
                raise FormatError(f"product #{g.id} is the child of a product; PSDD products "
                                  "are only the elements of decision nodes")
            if g.id == len(circuit) - 1:
                out.append(_decision(circuit, vtree, g.id, [g.id], np.ones(1), masks))
                count += 1
        elif isinstance(g, Sum):
            pair = _literal_pair(circuit, g)
            if pair is not None:
                out.append(f"T {g.id} {leaf_of[pair[0]]} {pair[0] + 1} {_num(pair[1])}\n")
            else:
                if g.mode != "dense":
                    raise FormatError(f"sum #{g.id} is a mixing sum")
                out.append(_decision(circuit, vtree, g.id, list(g.children), g.weights[0], masks))
            count += 1
    return HEADER + f"psdd {count}\n" + "".join(out), vtree


def _check_shape(circuit: Circuit) -> None:
    """Refuse circuits that are not PSDD-shaped, before any vtree work."""
    for g in circuit.groups:
        if g.units != 1:
            raise FormatError(f"group #{g.id} has {g.units} units; a PSDD has one-unit nodes")
        if isinstance(g, Input) and g.family not in ("indicator", "bernoulli"):
            raise FormatError(f"input #{g.id} is {g.family}; a PSDD has literals and "
                              "Bernoullis (T nodes) only")
        if isinstance(g, Sum) and _literal_pair(circuit, g) is None:
            for e in g.children:
                p = circuit[e]
                if not isinstance(p, Product) or len(p.children) != 2:
                    raise FormatError(f"sum #{g.id}: child #{e} is not a 2-input product (a "
                                      "PSDD element)")


def _decision(circuit: Circuit, vtree: Vtree, gid: int, elements: list[int], weights: np.ndarray,
              masks: tuple[int, ...]) -> str:
    vt = vtree.lowest_covering(masks[gid])
    if vtree.var[vt] >= 0:
        raise FormatError(f"sum #{gid} is over one variable; a PSDD decision node needs two "
                          "sides")
    left, right = vtree.masks[vtree.left[vt]], vtree.masks[vtree.right[vt]]
    parts = []
    for e, w in zip(elements, weights):
        p = circuit[e]
        if not isinstance(p, Product) or len(p.children) != 2:
            raise FormatError(f"sum #{gid}: child #{e} is not a 2-input product (a PSDD element)")
        a, b = p.children
        if masks[a] & ~left == 0 and masks[b] & ~right == 0:
            prime, sub = a, b
        elif masks[b] & ~left == 0 and masks[a] & ~right == 0:
            prime, sub = b, a
        else:
            raise FormatError(f"product #{e} does not split along the vtree (its children are not "
                              f"under the two sides of vtree node {vt})")
        if isinstance(circuit[prime], Product) or isinstance(circuit[sub], Product):
            raise FormatError(f"product #{e} has a product child; PSDD elements join two nodes")
        parts.append(f"{prime} {sub} {_num(_log(w))}")
    return f"D {gid} {vt} {len(parts)} " + " ".join(parts) + "\n"


def save_psdd(circuit: Circuit, path: str | Path, vtree: Vtree | None = None) -> None:
    """Write `circuit` to `path` and its vtree to the same name with suffix `.vtree`."""
    text, tree = not_representable(lambda: format_psdd(circuit, vtree), path, ".psdd")
    Path(path).write_text(text)
    Path(path).with_suffix(".vtree").write_text(format_vtree(tree))
