"""ProbabilisticCircuits.jl's `.spn` dialect (a relative of Libra's .ac; binary variables only).

    (2 2 ... 2)              ; one 2 per variable
    v var val                ; indicator [x_var == val], var 0-based, val 0/1
    * c_1 ... c_k            ; product of earlier node lines (0-based line index)
    + (c_i logw_i)+          ; sum with inline log-weights
    EOF

The root is the last node before EOF.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pcc.frontends._text import MAX_VALUES, MAX_VARIABLES, Line, Records, lines_of
from pcc.ir import BINARY, Circuit, FormatError


def parse_domains(line: Line) -> list[int]:
    """The `(d_0 d_1 ...)` header: domain sizes (Libra's .ac shares it)."""
    text = line.text.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise line.error("expected the domain header '(d_0 d_1 ...)'", 0)
    inner = Line(line.path, line.number, line.text.replace("(", " ").replace(")", " "))
    if len(inner.tokens) > MAX_VARIABLES:
        raise line.error(f"more than {MAX_VARIABLES} variables", 0)
    return [inner.int(i, "a domain size", low=1, high=MAX_VALUES) for i in range(len(inner.tokens))]


def load_pcjl_spn(path: str | Path, text: str | None = None) -> Circuit:
    """The circuit of a PC.jl `.spn` file."""
    name = str(path)
    lines = lines_of(path, text)
    if not lines:
        raise FormatError("empty file (expected the domain header '(2 2 ...)')", name)
    sizes = parse_domains(lines[0])
    for i, size in enumerate(sizes):
        if size != 2:
            raise lines[0].error("the PC.jl .spn format has binary variables only (domain 2)",
                                 i)
    rec = Records()
    ended = False
    for line in lines[1:]:
        tag = line.tokens[0]
        if tag == "EOF":
            ended = True
            break
        if tag == "v":
            line.expect_count(3, "an indicator 'v var val'")
            var = line.int(1, "the variable")
            if var >= len(sizes):
                raise line.error(f"variable out of range (the header has {len(sizes)})", 1)
            val = line.int(2, "the value")
            if val > 1:
                raise line.error("a binary value must be 0 or 1", 2)
            rec.input(var, "indicator", {"value": val}, line.origin)
        elif tag in ("*", "+"):
            _inner(line, tag, rec)
        else:
            raise line.error("expected 'v', '*', '+' or 'EOF'", 0)
    if not ended:
        raise FormatError("truncated file: no EOF line", name, lines[-1].number + 1)
    return rec.build([BINARY] * len(sizes), name)


def _inner(line: Line, tag: str, rec: Records) -> None:
    tokens = line.tokens
    n = len(rec)
    if len(tokens) < 2 or (tag == "+" and len(tokens) % 2 == 0):
        raise line.error("a product needs child indices; a sum needs (child log-weight) pairs",
                         len(tokens))
    step = 1 if tag == "*" else 2
    try:  # fast path
        children = [int(t) for t in tokens[1::step]]
        ok = all(0 <= c < n for c in children)
        logw = np.array(tokens[2::2], dtype=np.float64) if tag == "+" else None
        ok = ok and (logw is None or not np.any(np.isnan(logw) | (logw == np.inf)))
    except ValueError:
        ok = False
    if not ok:
        for i in range(1, len(tokens), step):
            if line.int(i, "a child index") >= n:
                raise line.error("unknown child index (children must be earlier lines)", i)
            if tag == "+":
                w = line.float(i + 1, "a log-weight", finite=False)
                if math.isnan(w) or w == math.inf:
                    raise line.error("a log-weight must be a number < inf", i + 1)
    if tag == "*":
        rec.add("product", children, None, line.origin)
    else:
        with np.errstate(over="ignore"):  # a huge log-weight: Circuit reports inf
            rec.add("sum", children, np.exp(logw), line.origin)  # type: ignore[arg-type]
