"""The fast path of the `.psdd` reader: the whole file parsed as numpy arrays (token boundaries,
integers, the decision elements), no per-line Python objects.

It accepts only what the checking reader in `psdd` accepts, and returns None at the first
thing it does not handle or does not like (a bad token, an unknown child, a vtree mismatch,
a carriage return, a non-ASCII byte, ...): the checking reader then reads the file and reports
the problem with its line and column. So errors are the checking reader's, and only valid
files need to be fast.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pcc.frontends._columns import INPUT, PRODUCT, SUM, build_columns
from pcc.frontends._text import MAX_VARIABLES
from pcc.ir import BINARY, Circuit, Vtree

_ALLOWED = bytes(range(32, 127)) + b"\t\n"   # anything else: the checking reader decides
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 10, 32]] = True
_L, _T, _D = ord("L"), ord("T"), ord("D")


def parse_psdd(raw: bytes, name: str, tree: Vtree | None,
               vtree_ids: dict[int, int] | None) -> Circuit | None:
    """The circuit of a `.psdd` file's bytes, or None (see the module docstring)."""
    if not raw or raw.translate(None, _ALLOWED):
        return None
    b = np.frombuffer(raw, dtype=np.uint8)
    space = _SPACE[b]
    word = ~space
    starts = np.flatnonzero(word & np.concatenate(([True], space[:-1])))
    ends = np.flatnonzero(word & np.concatenate((space[1:], [True]))) + 1
    line_of = np.searchsorted(np.flatnonzero(b == 10), starts) + 1   # 1-based line numbers
    first = np.ones(len(starts), dtype=bool)
    first[1:] = line_of[1:] != line_of[:-1]
    heads = np.flatnonzero(first)                   # first token of every non-blank line
    count = np.diff(np.append(heads, len(starts)))  # tokens on that line
    single = ends[heads] - starts[heads] == 1
    tag = b[starts[heads]]
    lines = ~(single & (tag == ord("c")))           # comment lines out
    heads, count, tag, single = heads[lines], count[lines], tag[lines], single[lines]
    if not len(heads) or raw[starts[heads[0]]:ends[heads[0]]] != b"psdd" or count[0] > 2:
        return None
    if count[0] == 2 and _ints(b, starts, ends, heads[:1] + 1) is None:
        return None
    heads, count, tag, single = heads[1:], count[1:], tag[1:], single[1:]
    if not len(heads) or not np.all(single & ((tag == _L) | (tag == _T) | (tag == _D))) or \
            np.any(count < 4):  # every node line has 4 tokens or more: read 4 without a check
        return None
    return _nodes(b, raw, starts, ends, line_of, heads, count, tag, name, tree, vtree_ids)


def _nodes(b: np.ndarray, raw: bytes, starts: np.ndarray, ends: np.ndarray,
           line_of: np.ndarray, heads: np.ndarray, count: np.ndarray, tag: np.ndarray,
           name: str, tree: Vtree | None, vtree_ids: dict[int, int] | None) -> Circuit | None:
    is_l, is_t, is_d = tag == _L, tag == _T, tag == _D
    third = _ints(b, starts, ends, heads + 3)  # the literal, the variable or the element count
    ids = _ints(b, starts, ends, heads + 1)
    vts = _ints(b, starts, ends, heads + 2)
    if third is None or ids is None or vts is None or np.any(ids < 0) or np.any(vts < 0):
        return None
    k = np.where(is_d, third, 0)
    if np.any(is_l & ((count != 4) | (third == 0) | (np.abs(third) > MAX_VARIABLES))) or \
            np.any(is_t & ((count != 5) | (third < 1) | (third > MAX_VARIABLES))) or \
            np.any(is_d & ((k < 1) | (count != 4 + 3 * k))):
        return None
    # element e of decision line j: prime, sub and log-weight tokens
    d_lines = np.flatnonzero(is_d)
    kd = k[d_lines]
    elem_line = np.repeat(d_lines, kd)
    e = np.arange(len(elem_line)) - np.repeat(np.cumsum(kd) - kd, kd)
    base = heads[elem_line] + 4 + 3 * e
    primes, subs = _ints(b, starts, ends, base), _ints(b, starts, ends, base + 1)
    logw = _floats(raw, starts, ends, base + 2)
    logp = _floats(raw, starts, ends, heads[is_t] + 4)
    if primes is None or subs is None or logw is None or logp is None:
        return None
    if np.any(np.isnan(logw) | (logw == math.inf)) or \
            not np.all(np.isfinite(logp) & (logp <= 1e-9)):
        return None
    # file ids -> line positions; every child must be an earlier line
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if np.any(sorted_ids[1:] == sorted_ids[:-1]):
        return None
    prime_line, sub_line = _lookup(sorted_ids, order, primes), _lookup(sorted_ids, order, subs)
    if prime_line is None or sub_line is None or np.any(prime_line >= elem_line) or \
            np.any(sub_line >= elem_line):
        return None
    var = np.where(is_d, 0, np.abs(third))   # 1-based; 0 for decisions
    if tree is not None and vtree_ids is not None and \
            not _vtree_ok(tree, vtree_ids, vts, var, is_d, elem_line, prime_line, sub_line):
        return None
    return _records(heads, line_of, is_l, is_t, is_d, k, third, logp, logw, elem_line, e,
                    prime_line, sub_line, var, name, tree)


def _records(heads: np.ndarray, line_of: np.ndarray, is_l: np.ndarray, is_t: np.ndarray,
             is_d: np.ndarray, k: np.ndarray, third: np.ndarray, logp: np.ndarray,
             logw: np.ndarray, elem_line: np.ndarray, e: np.ndarray, prime_line: np.ndarray,
             sub_line: np.ndarray, var: np.ndarray, name: str, tree: Vtree | None) -> Circuit:
    """The records the checking reader makes: per line an input, or k element products and then
    the decision's sum."""
    per_line = np.where(is_d, k + 1, 1)
    rec_end = np.cumsum(per_line)
    record = rec_end - 1                           # the record that stands for each line
    n = int(rec_end[-1])
    kind = np.full(n, INPUT, dtype=np.int8)
    prod = rec_end[elem_line] - 1 - k[elem_line] + e
    sums = record[is_d]
    kind[prod], kind[sums] = PRODUCT, SUM
    child_count = np.zeros(n, dtype=np.int64)
    child_count[prod], child_count[sums] = 2, k[is_d]
    child_start = np.concatenate(([0], np.cumsum(child_count)))
    children = np.empty(int(child_start[-1]), dtype=np.int64)
    children[child_start[prod]] = record[prime_line]
    children[child_start[prod] + 1] = record[sub_line]
    at = child_start[record[elem_line]] + e        # the sum's edge to element product e
    children[at] = prod
    edge_weight = np.zeros(len(children))
    with np.errstate(over="ignore"):
        edge_weight[at] = np.exp(logw)
    inputs: list[tuple[int, str, dict[str, Any]]] = []
    p = [min(math.exp(x), 1.0) for x in logp.tolist()]  # as the checking reader computes it
    t = 0
    for is_lit, v, lit in zip(is_l[~is_d].tolist(), var[~is_d].tolist(),
                              third[~is_d].tolist()):
        if is_lit:
            inputs.append((v - 1, "indicator", {"value": 1 if lit > 0 else 0}))
        else:
            inputs.append((v - 1, "bernoulli", {"p": p[t]}))
            t += 1
    num_vars = int(var.max())
    if tree is not None:
        num_vars = max(num_vars, max(tree.var) + 1)
    lines = np.repeat(line_of[heads], per_line)
    return build_columns(kind, child_start, children, edge_weight, inputs, lines,
                         [BINARY] * num_vars, name)


def _vtree_ok(tree: Vtree, vtree_ids: dict[int, int], vts: np.ndarray, var: np.ndarray,
              is_d: np.ndarray, elem_line: np.ndarray, prime_line: np.ndarray,
              sub_line: np.ndarray) -> bool:
    """The checking reader's vtree checks, as interval containment: a vtree node's variables
    are a contiguous run of leaves in left-to-right order."""
    keys = np.fromiter(vtree_ids.keys(), np.int64, len(vtree_ids))
    values = np.fromiter(vtree_ids.values(), np.int64, len(vtree_ids))
    order = np.argsort(keys)
    pos = _lookup(keys[order], values[order], vts)
    if pos is None:
        return False
    tvar = np.asarray(tree.var, dtype=np.int64)
    if np.any(np.where(is_d, tvar[pos] >= 0, tvar[pos] != var - 1)):
        return False
    lo, hi = _leaf_runs(tree)
    left, right = np.asarray(tree.left)[pos[elem_line]], np.asarray(tree.right)[pos[elem_line]]
    p, s = pos[prime_line], pos[sub_line]
    return bool(np.all((lo[p] >= lo[left]) & (hi[p] <= hi[left]) &
                       (lo[s] >= lo[right]) & (hi[s] <= hi[right])))


def _leaf_runs(tree: Vtree) -> tuple[np.ndarray, np.ndarray]:
    """First and last left-to-right leaf rank under each vtree node."""
    n = len(tree.var)
    lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    rank, stack = 0, [(n - 1, False)]
    while stack:
        node, done = stack.pop()
        if tree.var[node] >= 0:
            lo[node] = hi[node] = rank
            rank += 1
        elif done:
            lo[node], hi[node] = lo[tree.left[node]], hi[tree.right[node]]
        else:
            stack += [(node, True), (tree.right[node], False), (tree.left[node], False)]
    return lo, hi


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """values[i] where sorted_keys[i] == wanted, for every wanted key; None if one is absent."""
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    if len(wanted) and (not len(sorted_keys) or np.any(sorted_keys[at] != wanted)):
        return None
    return values[at]


def _ints(b: np.ndarray, starts: np.ndarray, ends: np.ndarray,
          tokens: np.ndarray) -> np.ndarray | None:
    """The tokens as int64, or None unless every one is `-?[0-9]{1,18}`."""
    s = starts[tokens]
    length = ends[tokens] - s
    if not len(s):
        return np.zeros(0, np.int64)
    width = int(length.max())
    if width > 18:
        return None
    value = np.zeros(len(s), np.int64)
    negative = b[s] == 45
    if np.any(negative & (length == 1)):
        return None
    for col in range(width):
        inside = col < length
        digit = b[np.minimum(s + col, len(b) - 1)].astype(np.int64) - 48
        is_digit = (digit >= 0) & (digit <= 9)
        sign = negative if col == 0 else np.zeros(len(s), dtype=bool)
        if np.any(inside & ~is_digit & ~sign):
            return None
        take = inside & is_digit
        value = np.where(take, value * 10 + digit, value)
    return np.where(negative, -value, value)


def _floats(raw: bytes, starts: np.ndarray, ends: np.ndarray,
            tokens: np.ndarray) -> np.ndarray | None:
    """The tokens as float64 by Python's `float` (the checking reader's own rule), or None."""
    try:
        return np.fromiter((float(raw[s:e]) for s, e in zip(starts[tokens].tolist(),
                                                             ends[tokens].tolist())),
                           np.float64, len(tokens))
    except ValueError:
        return None
