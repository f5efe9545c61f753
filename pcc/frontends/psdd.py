"""UCLA PSDD `.psdd` files (with an optional `.vtree`) -> `Circuit`.

    psdd N                        ; header (N is the SDD node count; not checked)
    L id vtree lit                ; indicator [x_{|lit|-1} == (lit > 0)]
    T id vtree var logp           ; Bernoulli over x_{var-1} with log P(x = 1) = logp
    D id vtree k (prime sub logw){k}   ; sum_e exp(logw_e) * (prime_e x sub_e)

Ids are arbitrary ints; children come first; the root is the LAST node line. Each D element
becomes a 2-input product (not shared), each D a one-unit dense sum, so the circuit has
L + T + D + E groups. A T node is read as a Bernoulli input rather than PC.jl's sum over two
literals: the same distribution, smooth, and 2 groups fewer per T.

With a vtree, every node's vtree field is checked: L/T sit on the leaf of their variable, and
a D's primes (subs) lie under the left (right) child of its vtree node.

Files are read by the vectorized `psdd_fast` first; where it declines (any problem, or
anything unusual), the line-by-line reader here reads the file and names the problem.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pcc.frontends._text import MAX_VARIABLES, Line, Records, decode, lines_of, read_bytes
from pcc.frontends.psdd_fast import parse_psdd
from pcc.frontends.vtree_file import load_vtree, read_vtree, save_vtree
from pcc.ir import BINARY, Circuit, FormatError, Vtree

__all__ = ["load_psdd", "read_psdd", "load_vtree", "save_vtree"]


def load_psdd(path: str | Path, vtree: str | Path | Vtree | None = None) -> Circuit:
    """The circuit of a `.psdd` file; `vtree` (a `.vtree` path) enables the vtree checks."""
    return read_psdd(path, vtree)


def read_psdd(path: str | Path, vtree: str | Path | Vtree | None = None,
              text: str | None = None) -> Circuit:
    name = str(path)
    tree, vtree_ids = _vtree(vtree)
    raw = read_bytes(path) if text is None else text.encode()
    fast = parse_psdd(raw, name, tree, vtree_ids)
    if fast is not None:
        return fast
    return _read_checked(name, decode(raw, name), tree, vtree_ids)


def _read_checked(name: str, text: str, tree: Vtree | None,
                  vtree_ids: dict[int, int] | None) -> Circuit:
    """The line-by-line reader: every check, with the offending line, column and token."""
    rec = Records()
    index: dict[int, int] = {}        # file id -> record index
    first_line: dict[int, int] = {}   # file id -> line number
    vtree_pos: dict[int, int] = {}    # record index of a file node -> vtree position
    pending: list[tuple[int, Line]] = []  # (sum record, its D line): weights filled at the end
    max_var = 0
    header_seen = False
    for line in lines_of(name, text):
        tag = line.tokens[0]
        if tag == "c":
            continue
        if not header_seen:
            if tag != "psdd" or len(line.tokens) > 2:
                raise line.error("expected the header 'psdd N'", 0)
            if len(line.tokens) == 2:
                line.int(1, "the header's node count")
            header_seen = True
            continue
        if tag not in ("L", "T", "D"):
            raise line.error("expected a PSDD line 'L', 'T', 'D' or a comment 'c'", 0)
        node_id = line.int(1, "the node id")
        if node_id in index:
            raise line.error(f"duplicate node id (first defined at line {first_line[node_id]})", 1)
        vt = line.int(2, "the vtree id")
        if tag == "L":
            line.expect_count(4, "a literal 'L id vtree lit'")
            lit = line.int(3, "the literal", low=-MAX_VARIABLES, high=MAX_VARIABLES)
            if lit == 0:
                raise line.error("a literal must be non-zero", 3)
            var = abs(lit)
            pos = _vtree_position(line, vt, vtree_ids, tree, var)
            r = rec.input(var - 1, "indicator", {"value": 1 if lit > 0 else 0}, line.origin)
        elif tag == "T":
            line.expect_count(5, "a true node 'T id vtree var logp'")
            var = line.variable(3)
            logp = line.float(4, "log P(x = 1)")
            if logp > 1e-9:
                raise line.error("log P(x = 1) must be <= 0", 4)
            pos = _vtree_position(line, vt, vtree_ids, tree, var)
            r = rec.input(var - 1, "bernoulli", {"p": min(math.exp(logp), 1.0)}, line.origin)
        else:
            var = 0
            pos = _vtree_position(line, vt, vtree_ids, tree, var)
            r = _decision(line, rec, index, vtree_pos, tree, pos, pending)
        max_var = max(max_var, var)
        vtree_pos[r] = pos
        index[node_id] = r
        first_line[node_id] = line.number
    if not header_seen:
        raise FormatError("empty file (expected a 'psdd N' header)", name)
    with np.errstate(over="ignore"):  # a huge log-weight: Circuit reports the inf weight
        _fill_weights(rec, pending, index)
    if not len(rec):
        raise FormatError("the file has no node lines", name)
    num_vars = max_var
    if tree is not None:
        num_vars = max(num_vars, max(tree.var) + 1)
    return rec.build([BINARY] * num_vars, name)


def _decision(line: Line, rec: Records, index: dict[int, int], vtree_pos: dict[int, int],
              tree: Vtree | None, pos: int, pending: list[tuple[int, Line]]) -> int:
    k = line.int(3, "the element count", low=1)
    if len(line.tokens) != 4 + 3 * k:
        raise line.error(f"a decision node with {k} elements needs {4 + 3 * k} tokens, found "
                         f"{len(line.tokens)}", min(len(line.tokens), 4 + 3 * k))
    tokens = line.tokens
    try:  # fast path; `_element_error` finds the offending token
        elements = [[index[int(a)], index[int(b)]] for a, b in zip(tokens[4::3], tokens[5::3])]
    except (KeyError, ValueError):
        _element_error(line, index, k)
    if tree is not None:
        _check_elements(line, elements, vtree_pos, tree, pos)
    first, k, origin = len(rec), len(elements), line.origin
    rec.kinds.extend(["product"] * k)  # batch append: this is the hot loop of big PSDDs
    rec.children.extend(elements)
    rec.payloads.extend([None] * k)
    rec.origins.extend([origin] * k)
    # weights are converted for the whole file at once in `_fill_weights`: numpy calls on tiny
    # arrays per line cost more than the parsing
    pending.append((len(rec), line))
    return rec.add("sum", range(first, first + k), None, origin)


def _fill_weights(rec: Records, pending: list[tuple[int, Line]], index: dict[int, int]) -> None:
    texts = [t for _, line in pending for t in line.tokens[6::3]]
    try:
        logw = np.array(texts, dtype=np.float64)
        ok = not np.any(np.isnan(logw) | (logw == np.inf))
    except ValueError:
        ok = False
    if not ok:
        for _, line in pending:
            _element_error(line, index, (len(line.tokens) - 4) // 3)
    weights = np.exp(logw)
    start = 0
    for r, line in pending:
        k = (len(line.tokens) - 4) // 3
        rec.payloads[r] = weights[start:start + k]
        start += k


def _element_error(line: Line, index: dict[int, int], k: int) -> None:
    for e in range(k):
        for t in (4 + 3 * e, 5 + 3 * e):
            if line.int(t, "a child id") not in index:
                raise line.error("unknown child id (children must appear before their "
                                 "parent)", t)
        w = line.float(6 + 3 * e, "a log-weight", finite=False)
        if math.isnan(w) or w == math.inf:
            raise line.error("a log-weight must be a number < inf", 6 + 3 * e)


def _vtree(vtree: str | Path | Vtree | None) -> tuple[Vtree | None, dict[int, int] | None]:
    if vtree is None:
        return None, None
    if isinstance(vtree, Vtree):
        return vtree, {i: i for i in range(len(vtree.var))}
    return read_vtree(vtree)


def _vtree_position(line: Line, vt: int, ids: dict[int, int] | None, tree: Vtree | None,
                    var: int) -> int:
    """The vtree position of a node; checks that L/T sit on their variable's leaf."""
    if tree is None or ids is None:
        return -1
    if vt not in ids:
        raise line.error("vtree id not in the vtree file (the vtree does not match the PSDD)", 2)
    pos = ids[vt]
    if line.tokens[0] in ("L", "T") and tree.var[pos] != var - 1:
        what = f"variable {tree.var[pos] + 1}" if tree.var[pos] >= 0 else "an inner node"
        raise line.error(f"vtree node {vt} is {what}, not the leaf of variable {var} (the vtree "
                         "does not match the PSDD)", 2)
    if line.tokens[0] == "D" and tree.var[pos] >= 0:
        raise line.error(f"vtree node {vt} is a leaf; a decision node needs an inner node (the "
                         "vtree does not match the PSDD)", 2)
    return pos


def _check_elements(line: Line, elements: list[list[int]], vtree_pos: dict[int, int],
                    tree: Vtree, pos: int) -> None:
    """Primes must lie under the left child of the D's vtree node, subs under the right one.
    Vtree nodes are laminar, so "under" is containment of variable sets."""
    masks = tree.masks
    for e, pair in enumerate(elements):
        for j, below in ((0, tree.left[pos]), (1, tree.right[pos])):
            child = masks[vtree_pos[pair[j]]]
            if child & ~masks[below]:
                side = "left" if j == 0 else "right"
                raise line.error(f"element {e + 1}: the {'prime' if j == 0 else 'sub'} is not "
                                 f"under the {side} child of vtree node {line.tokens[2]} (the "
                                 "vtree does not match the PSDD)", 4 + 3 * e + j)
