"""ProbabilisticCircuits.jl `.jpc` files -> `Circuit` (the writer: `pcc.frontends.jpc_writer`).

    jpc N                          ; N = number of node lines (checked)
    L id vtree lit                 ; indicator [x_{|lit|-1} == (lit > 0)]
    I id vtree var value           ; indicator [x_{var-1} == value]   (values are 0-based)
    C id vtree var logp_0 .. logp_{k-1}   ; categorical with log-probabilities
    B id vtree var N logp          ; binomial(N, exp(logp))
    G id vtree var mean std        ; gaussian (newer PC.jl)
    P id vtree k c_1 .. c_k        ; product
    S id vtree k (c_i logw_i){k}   ; sum; child ids interleaved with log-weights
    c ...                          ; comment

Ids are arbitrary non-negative ints (PC.jl writes 0..N-1); children first; root = last line.
Domains: binary when a variable only needs 2 values, else categorical with the largest size
any of its inputs needs; gaussian inputs make a variable real.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pcc.frontends._text import (MAX_VALUES, MAX_VARIABLES, Line, Records, binary_or_categorical,
                                lines_of)
from pcc.ir import REAL, Circuit, Domain, FormatError


def load_jpc(path: str | Path, text: str | None = None) -> Circuit:
    """The circuit of a `.jpc` file (plain or gzipped)."""
    name = str(path)
    rec = Records()
    index: dict[int, int] = {}
    sizes: dict[int, int] = {}      # variable -> values needed (0 = real)
    count_line: Line | None = None
    count = 0
    for line in lines_of(path, text):
        tag = line.tokens[0]
        if tag == "c":
            continue
        if count_line is None:
            if tag != "jpc":
                raise line.error("expected the header 'jpc N'", 0)
            line.expect_count(2, "the header 'jpc N'")
            count = line.int(1, "the node count")
            count_line = line
            continue
        node_id = line.int(1, "the node id")
        if node_id in index:
            raise line.error("duplicate node id", 1)
        line.int(2, "the vtree id")
        if tag in ("P", "S"):
            r = _inner(line, tag, rec, index)
        elif tag in ("L", "I", "C", "B", "G"):
            r = _leaf(line, tag, rec, sizes)
        else:
            raise line.error("expected a jpc line 'L', 'I', 'C', 'B', 'G', 'P', 'S' or a "
                             "comment 'c'", 0)
        index[node_id] = r
    if count_line is None:
        raise FormatError("empty file (expected a 'jpc N' header)", name)
    if count != len(rec):
        raise count_line.error(f"the header says {count} nodes but the file has {len(rec)}", 1)
    num_vars = max(sizes, default=-1) + 1
    domains = [REAL if sizes.get(v, 2) == 0 else binary_or_categorical(sizes.get(v, 2))
               for v in range(num_vars)]
    _pad_categoricals(rec, domains)
    return rec.build(domains, name)


def _need(line: Line, sizes: dict[int, int], var: int, size: int) -> None:
    old = sizes.get(var)
    if old is not None and (old == 0) != (size == 0):
        raise line.error(f"variable {var + 1} has both real (G) and discrete inputs", 3)
    sizes[var] = 0 if size == 0 else max(old or 0, size)


def _leaf(line: Line, tag: str, rec: Records, sizes: dict[int, int]) -> int:
    if tag == "L":
        line.expect_count(4, "a literal 'L id vtree lit'")
        lit = line.int(3, "the literal", low=-MAX_VARIABLES, high=MAX_VARIABLES)
        if lit == 0:
            raise line.error("a literal must be non-zero", 3)
        _need(line, sizes, abs(lit) - 1, 2)
        return rec.input(abs(lit) - 1, "indicator", {"value": int(lit > 0)}, line.origin)
    var = line.variable(3) - 1
    if tag == "I":
        line.expect_count(5, "an indicator 'I id vtree var value'")
        value = line.int(4, "the value", high=MAX_VALUES - 1)
        _need(line, sizes, var, value + 1)
        return rec.input(var, "indicator", {"value": value}, line.origin)
    if tag == "C":
        if len(line.tokens) < 5:
            raise line.error("a categorical needs at least one log-probability", len(line.tokens))
        if len(line.tokens) - 4 > MAX_VALUES:
            raise line.error(f"a categorical may have at most {MAX_VALUES} values", 4)
        logp = [line.float(i, "a log-probability", finite=False)
                for i in range(4, len(line.tokens))]
        bad = [i for i, v in enumerate(logp) if math.isnan(v) or v > 1e-9]
        if bad:
            raise line.error("a log-probability must be <= 0", 4 + bad[0])
        _need(line, sizes, var, len(logp))
        return rec.input(var, "categorical", {"probs": np.exp(logp)}, line.origin)
    if tag == "B":
        line.expect_count(6, "a binomial 'B id vtree var N logp'")
        n = line.int(4, "the number of trials", high=MAX_VALUES - 1)
        log_q = line.float(5, "log p", finite=False)
        if math.isnan(log_q) or log_q > 1e-9:
            raise line.error("log p must be <= 0", 5)
        _need(line, sizes, var, n + 1)
        return rec.input(var, "binomial", {"n": n, "p": min(math.exp(log_q), 1.0)}, line.origin)
    line.expect_count(6, "a gaussian 'G id vtree var mean std'")
    mean = line.float(4, "the mean")
    std = line.float(5, "the standard deviation")
    if std <= 0:
        raise line.error("the standard deviation must be > 0", 5)
    _need(line, sizes, var, 0)
    return rec.input(var, "gaussian", {"mean": mean, "std": std}, line.origin)


def _inner(line: Line, tag: str, rec: Records, index: dict[int, int]) -> int:
    k = line.int(3, "the number of children", low=1)
    step = 1 if tag == "P" else 2
    want = 4 + step * k
    if len(line.tokens) != want:
        raise line.error(f"a {'product' if tag == 'P' else 'sum'} with {k} children needs "
                         f"{want} tokens, found {len(line.tokens)}", min(len(line.tokens), want))
    tokens = line.tokens
    try:  # fast path; `_child_error` finds the offending token
        children = [index[int(t)] for t in tokens[4::step]]
        logw = np.array(tokens[5::2], dtype=np.float64) if tag == "S" else None
        ok = logw is None or not np.any(np.isnan(logw) | (logw == np.inf))
    except (KeyError, ValueError):
        ok = False
    if not ok:
        for i in range(4, want, step):
            if line.int(i, "a child id") not in index:
                raise line.error("unknown child id (children must appear before their parent)",
                                 i)
            if tag == "S":
                w = line.float(i + 1, "a log-weight", finite=False)
                if math.isnan(w) or w == math.inf:
                    raise line.error("a log-weight must be a number < inf", i + 1)
    if tag == "P":
        return rec.add("product", children, None, line.origin)
    with np.errstate(over="ignore"):  # a huge log-weight: Circuit reports inf
        return rec.add("sum", children, np.exp(logw), line.origin)  # type: ignore[arg-type]


def _pad_categoricals(rec: Records, domains: list[Domain]) -> None:
    """A categorical shorter than its variable's domain gets probability 0 for the rest."""
    for i, kind in enumerate(rec.kinds):
        if kind == "input":
            var, family, params = rec.payloads[i]
            if family == "categorical":
                probs = params["probs"]
                size = domains[var].size or len(probs)
                if len(probs) < size:
                    params["probs"] = np.concatenate([probs, np.zeros(size - len(probs))])


# the writer lives in jpc_writer; these names stay importable from here
from pcc.frontends.jpc_writer import format_jpc, save_jpc  # noqa: E402

__all__ = ["format_jpc", "load_jpc", "save_jpc"]
