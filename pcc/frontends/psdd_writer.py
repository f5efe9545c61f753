"""`Circuit` -> UCLA `.psdd` (+ `.vtree`), where the circuit is a PSDD.

Checked in this order, each refusal one line naming the property and the node (with its origin:
for a scalarized circuit, the group and unit it came from): binary variables; one-unit groups
(`pcc.transforms.Scalarize` makes them) whose inputs are literals (L) or Bernoullis (T);
structured decomposability (a vtree); determinism (the sound check of
`pcc.analysis.determinism`: a refusal names a sum and two children not proved disjoint; where
the proof runs out of budget, a warning says so and the file is written); the PSDD shape: a sum
over the two literals of one variable with weights summing to 1 is written as a T; every other
sum is a D whose children are 2-input products (its elements); a product may also be the root
(a D with one element of weight 1). Without a vtree the writer uses the one the circuit implies
(`pcc.analysis.structured.implied_vtree`). Each element is written with the child under the left
vtree child first (as its prime), since a product's order carries no meaning in pcc.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from pcc.frontends._text import not_representable
from pcc.frontends._writing import label, require_one_unit
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


def check_psdd(circuit: Circuit, vtree: Vtree | None = None) -> Vtree:
    """The vtree (`vtree`, or the one the circuit implies) of a circuit that has what a PSDD
    needs beyond its one-unit shape: binary variables, literal or Bernoulli inputs, structured
    decomposability, determinism. FormatError naming the first property missing and the node.
    Groups of any width: `pcc convert` checks the circuit it read, so the node named is the
    user's (group and unit), then scalarizes it."""
    bad = [v for v, d in enumerate(circuit.domains) if d != BINARY]
    if bad:
        raise FormatError(f"a PSDD has binary variables only; x{bad[0]} is "
                          f"{circuit.domains[bad[0]]}")
    _check_inputs(circuit)  # cheap checks first: finding a vtree can take a while
    if vtree is None:
        from pcc.analysis.structured import implied_vtree

        vtree, why = implied_vtree(circuit)
        if vtree is None:
            message = why.message if why is not None else "no vtree fits the circuit"
            if why is not None and why.node >= 0:
                message = message.replace(f"product #{why.node}", label(circuit[why.node]), 1)
            raise FormatError(message)
    _check_deterministic(circuit)
    return vtree


def format_psdd(circuit: Circuit, vtree: Vtree | None = None,
                checked: bool = False) -> tuple[str, Vtree]:
    """The `.psdd` text of a circuit of one-unit groups, and the vtree it refers to;
    FormatError naming the missing property and the node (`check_psdd`, skipped when
    `checked` says the caller ran it, then the PSDD shape)."""
    require_one_unit(circuit, "a PSDD")
    if not checked or vtree is None:
        vtree = check_psdd(circuit, vtree)
    alias = _aliases(circuit)
    written = _written(circuit, alias)
    leaf_of = {v: i for i, v in enumerate(vtree.var) if v >= 0}
    masks = circuit.scope_masks
    out: list[str] = []
    for gid in written:
        g = circuit[gid]
        if isinstance(g, Input):
            if g.var not in leaf_of:
                raise FormatError(f"{label(g)}: variable x{g.var} is not in the vtree")
            vt = leaf_of[g.var]
            if g.family == "indicator":
                value = int(g.params["value"][0])
                out.append(f"L {g.id} {vt} {g.var + 1 if value == 1 else -(g.var + 1)}\n")
            else:  # bernoulli: check_psdd refused every other family
                out.append(_true_node(g.id, vt, g.var, _log(g.params["p"][0])))
        elif isinstance(g, Product):  # only the root: elements are written in their decision
            out.append(_decision(circuit, vtree, g.id, [(g.id, 1.0)], masks, alias))
        elif isinstance(g, Sum):
            pair = _literal_pair(circuit, g)
            if pair is not None:
                out.append(_true_node(g.id, leaf_of[pair[0]], pair[0], pair[1]))
            else:
                if g.mode != "dense":
                    raise FormatError(f"{label(g)} is a mixing sum")
                out.append(_decision(circuit, vtree, g.id, _elements(g), masks, alias))
    count = len(written)
    return HEADER + f"psdd {count}\n" + "".join(out), vtree


def _check_inputs(circuit: Circuit) -> None:
    """Inputs a PSDD has (literals and Bernoullis)."""
    for g in circuit.groups:
        if isinstance(g, Input) and g.family not in ("indicator", "bernoulli"):
            raise FormatError(f"{label(g)} is {g.family}; a PSDD has literals and "
                              "Bernoullis (T nodes) only")


def _check_deterministic(circuit: Circuit) -> None:
    """FormatError naming the sum and the two children not proved disjoint. Where the proof
    only ran out of budget (msnbc.psdd and plants.psdd do), the file is written and a warning
    says so: the check is sound, not complete, and refusing there would refuse real PSDDs."""
    from pcc.analysis.determinism import determinism

    unproved = determinism(circuit).determinism_unproved
    if unproved is None:
        return
    message = unproved.message.replace(f"sum #{unproved.node}", label(circuit[unproved.node]), 1)
    if "not proved disjoint" in message:  # a pair named: not a budget or depth limit
        raise FormatError(f"a PSDD is deterministic: {message}")
    logging.getLogger("pcc").warning(f"pcc: determinism not proved ({message}); the PSDD is "
                                     "written as the circuit is")


def _aliases(circuit: Circuit) -> list[int]:
    """The node each group is written as: itself, or for a sum whose only non-zero weight is
    1 (a one-hot gather, as vectorize makes) the node of that child, unless that is a product
    (then the sum is a decision node of one element); aliased sums get no line."""
    alias = list(range(len(circuit)))
    for g in circuit.groups:  # children first: a child's alias is final
        if isinstance(g, Sum):
            w = g.weights[0]
            live = np.flatnonzero(w)
            if len(live) == 1 and w[live[0]] == 1.0:
                kid = alias[g.children[int(live[0])]]
                if not isinstance(circuit[kid], Product):  # else: a D of one element
                    alias[g.id] = kid
    return alias


def _elements(g: Sum) -> list[tuple[int, float]]:
    """A decision node's (element, weight) pairs: exact zeros dropped (a merged sum of a
    vectorized PSDD holds every element of its class), all of them if every weight is 0."""
    pairs = [(c, float(w)) for c, w in zip(g.children, g.weights[0])]
    return [p for p in pairs if p[1] > 0] or pairs


def _written(circuit: Circuit, alias: list[int]) -> list[int]:
    """The ids the root reaches through what is written (aliases resolved, decision nodes'
    non-zero elements, their two children), ascending; a PSDD shape error names the node."""
    root = alias[len(circuit) - 1]
    seen = {root}
    stack = [root]
    while stack:
        g = circuit[stack.pop()]
        if isinstance(g, Product):  # the root
            elements = [(g.id, 1.0)]
        elif isinstance(g, Sum) and _literal_pair(circuit, g) is None:
            elements = _elements(g)
        else:  # a literal, a Bernoulli, a T node
            continue
        for e, _ in elements:
            p = circuit[alias[e]]
            if not isinstance(p, Product) or len(p.children) != 2:
                where = "the root" if isinstance(g, Product) else label(g)
                raise FormatError(f"{where}: child #{e} is not a 2-input product (a PSDD "
                                  "element)")
            for kid in p.children:
                k = alias[kid]
                if isinstance(circuit[k], Product):
                    raise FormatError(f"{label(p)} has a product child; PSDD elements join "
                                      "two nodes")
                if k not in seen:
                    seen.add(k)
                    stack.append(k)
    return sorted(seen)


def _true_node(id: int, vt: int, var: int, log_p: float) -> str:
    """A T node, or the literal it is when P(x = 1) is exactly 0 or 1 (a T line holds a finite
    log-probability below 0: UCLA's format and pcc's reader refuse -inf)."""
    if log_p == -math.inf or log_p == 0.0:
        return f"L {id} {vt} {var + 1 if log_p == 0.0 else -(var + 1)}\n"
    return f"T {id} {vt} {var + 1} {_num(log_p)}\n"


def _decision(circuit: Circuit, vtree: Vtree, gid: int, elements: list[tuple[int, float]],
              masks: tuple[int, ...], alias: list[int]) -> str:
    vt = vtree.lowest_covering(masks[gid])
    if vtree.var[vt] >= 0:
        raise FormatError(f"{label(circuit[gid])} is over one variable; a PSDD decision node "
                          "needs two sides")
    left, right = vtree.masks[vtree.left[vt]], vtree.masks[vtree.right[vt]]
    parts = []
    for e, w in elements:
        p = circuit[alias[e]]
        assert isinstance(p, Product)  # internal: `_written` checked every element
        a, b = (alias[c] for c in p.children)
        if masks[a] & ~left == 0 and masks[b] & ~right == 0:
            prime, sub = a, b
        elif masks[b] & ~left == 0 and masks[a] & ~right == 0:
            prime, sub = b, a
        else:
            raise FormatError(f"{label(p)} does not split along the vtree (its children are not "
                              f"under the two sides of vtree node {vt})")
        parts.append(f"{prime} {sub} {_num(_log(w))}")
    return f"D {gid} {vt} {len(parts)} " + " ".join(parts) + "\n"


def save_psdd(circuit: Circuit, path: str | Path, vtree: Vtree | None = None,
              checked: bool = False) -> None:
    """Write `circuit` to `path` and its vtree to the same name with suffix `.vtree`
    (`checked`: `check_psdd` gave `vtree` for this circuit, or the one it was scalarized from)."""
    text, tree = not_representable(lambda: format_psdd(circuit, vtree, checked), path, ".psdd")
    Path(path).write_text(text)
    Path(path).with_suffix(".vtree").write_text(format_vtree(tree))
