"""Libra arithmetic circuits (`.ac`) -> a normalized `Circuit`.

    (d_0 d_1 ... d_{n-1})     ; domain size of each variable
    n value                   ; constant (raw, not log; may exceed 1)
    v var val                 ; indicator [x_var == val]
    * i j ...                 ; product of earlier node lines (0-based index among node lines)
    + i j ...                 ; sum (weights are "n" constants multiplied in below it)
    EOF                       ; then an optional feature section, ended by another EOF

The root is the last node line. An AC computes an unnormalized function f(x); its distribution
is f(x) / Z with Z = f(all indicators = 1). pcc has no constant nodes, so the import folds the
constants into sum weights while normalizing, bottom-up in log space: every node v gets
log Z_v = log f_v(all ones) (constants: log value; indicators: 0; products: sum; sums:
logsumexp) and stands for f_v / Z_v. Then a product is the product of its non-constant
children, and a sum's child c gets the weight Z_c / Z_v. This is exact for any AC (no
smoothness or decomposability needed), the weights of every sum come out normalized, and
nothing overflows (msweb-mn.ac has Z far beyond float64). Computing log Z with the interpreter
and dividing at the root would not work: the root may be a product, and the IR has no constant
to divide by. A product or sum left with one child becomes that child. A sum that mixes
constants with non-constant children cannot be a PC and is reported.

Libra writes domain size 1 for a variable only seen with value 0; pcc reads it as binary, so a
1 in the data gets probability 0 (-inf), as in Libra, instead of a data error. A header that
declares domains far wider than the file's indicators use, where that would make the compiled
leaf tables huge (indicators x widest domain > 2^24), is read as wide as the values used, with
a warning (`pcc.frontends._text.indicator_domains`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from pcc.frontends._text import Line, Records, indicator_domains, lines_of
from pcc.frontends.pcjl_spn import parse_domains
from pcc.ir import Circuit, FormatError

_CONST = -1  # record index of a node that is a constant


def load_libra_ac(path: str | Path, text: str | None = None) -> Circuit:
    """The normalized circuit of a Libra `.ac` file."""
    rec = Records()
    root, sizes, _ = read_ac(path, rec, text=text)
    return rec.build(indicator_domains(rec, sizes, str(path)), str(path), root)


def read_ac(path: str | Path, rec: Records, var_map: Sequence[int] | None = None,
            text: str | None = None) -> tuple[int, list[int], float]:
    """Add the normalized nodes of an `.ac` file to `rec`; variable i becomes `var_map[i]`.
    Returns the root's record index, the header's domain sizes and log Z."""
    name = str(path)
    lines = lines_of(path, text)
    if not lines:
        raise FormatError("empty file (expected the domain header '(d_0 d_1 ...)')", name)
    sizes = parse_domains(lines[0])
    if var_map is not None and len(var_map) != len(sizes):
        raise lines[0].error(f"the header has {len(sizes)} variables but the scope has "
                             f"{len(var_map)}", 0)
    node: list[int] = []       # node line -> record index, or _CONST
    log_z: list[float] = []
    ended = False
    for line in lines[1:]:
        tag = line.tokens[0]
        if tag == "EOF":
            ended = True
            break
        if tag == "n":
            line.expect_count(2, "a constant 'n value'")
            value = line.float(1, "the constant")
            if value < 0:
                raise line.error("a constant must be >= 0", 1)
            node.append(_CONST)
            log_z.append(math.log(value) if value > 0 else -math.inf)
        elif tag == "v":
            line.expect_count(3, "an indicator 'v var val'")
            var = line.int(1, "the variable")
            if var >= len(sizes):
                raise line.error(f"variable out of range (the header has {len(sizes)})", 1)
            val = line.int(2, "the value")
            if val >= max(sizes[var], 2):
                raise line.error(f"value out of the variable's domain 0..{sizes[var] - 1}", 2)
            global_var = var if var_map is None else var_map[var]
            node.append(rec.input(global_var, "indicator", {"value": val}, line.origin))
            log_z.append(0.0)
        elif tag in ("*", "+"):
            children = _children(line, len(node))
            r, z = (_product if tag == "*" else _sum)(line, rec, children, node, log_z)
            node.append(r)
            log_z.append(z)
        else:
            raise line.error("expected 'n', 'v', '*', '+' or 'EOF'", 0)
    if not ended:
        raise FormatError("truncated file: no EOF line", name, lines[-1].number + 1)
    if not node:
        raise FormatError("the circuit has no nodes", name)
    if log_z[-1] == -math.inf:
        raise FormatError("the partition function is zero: the circuit gives no input "
                          "positive probability", name)
    if node[-1] == _CONST:
        raise FormatError("the root is a constant: the circuit depends on no variable", name)
    return node[-1], sizes, log_z[-1]


def _children(line: Line, count: int) -> list[int]:
    if len(line.tokens) < 2:
        raise line.error("a product or sum needs at least one child", 1)
    try:
        children = [int(t) for t in line.tokens[1:]]
        if all(0 <= c < count for c in children):
            return children
    except ValueError:
        pass
    for i in range(1, len(line.tokens)):
        if line.int(i, "a child index") >= count:
            raise line.error("unknown child index (children must be earlier node lines)", i)
    raise line.error("bad child list", 1)  # not reached: one token above was bad


def _product(line: Line, rec: Records, children: list[int], node: list[int],
             log_z: list[float]) -> tuple[int, float]:
    z = math.fsum(log_z[c] for c in children) if all(log_z[c] > -math.inf for c in children) \
        else -math.inf
    kept = [node[c] for c in children if node[c] != _CONST]
    if z == -math.inf or not kept:
        return _CONST, z          # identically zero, or a product of constants
    if len(kept) == 1:
        return kept[0], z
    return rec.add("product", kept, None, line.origin), z


def _sum(line: Line, rec: Records, children: list[int], node: list[int],
         log_z: list[float]) -> tuple[int, float]:
    live = [c for c in children if log_z[c] > -math.inf]    # zero children drop out
    if not live:
        return _CONST, -math.inf
    if len(live) <= 8:  # plain floats: numpy's call overhead on a few values was most of a
        zs = [log_z[c] for c in live]        # deep chain's read time
        peak = max(zs)
        z = peak + math.log(sum(math.exp(x - peak) for x in zs))
    else:
        za = np.array([log_z[c] for c in live])
        peak = za.max()
        z = float(peak + np.log(np.sum(np.exp(za - peak))))
    consts = [c for c in live if node[c] == _CONST]
    if len(consts) == len(live):
        return _CONST, z
    if consts:
        raise line.error("a sum mixes constants with non-constant children; such an AC has "
                         "no PC form (a constant has an empty scope)",
                         1 + children.index(consts[0]))
    if len(live) == 1:
        return node[live[0]], z
    weights = np.exp(np.array([log_z[c] for c in live]) - z)
    return rec.add("sum", [node[c] for c in live], weights, line.origin), z
