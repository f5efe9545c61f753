"""Which circuit format a file's content is in, from its first bytes and tokens, for files whose
name does not say (`model.txt`, no extension): every format starts in its own way.

    pcc            a zip archive (`PK\\x03\\x04`)
    psdd / jpc     the header `psdd N` / `jpc N`, after optional `c` comment lines
    libra_spn      a directory holding spac.m
    pcjl_spn       `(2 2 ... 2)`, then sums with inline log-weights `+ c w c w ...`
    libra_ac       `(d_0 d_1 ...)`, then constants `n v` or sums of child indices `+ i j`
    spflow_eq      `(` and an SPFlow leaf name, weight `0.3*`, or `(`: the equation form
    spflow         `NAME SumNode(` / `NAME ProductNode(` / `NAME <Leaf>(`: the ref-graph form

A `.vtree` file (`vtree N`) is named as such so that the error can say what it is. gzip files
are looked into. Sniffing never raises: an unreadable file sniffs as None and the reader, once
chosen by other means, reports why.
"""

from __future__ import annotations

import re
from pathlib import Path

from pcc.frontends._spflow import LEAVES
from pcc.frontends._text import head_text

_DOMAINS = re.compile(r"\(\s*\d+(?:\s+\d+)*\s*\)")
_GRAPH = re.compile(r"[A-Za-z_][\w.]*\s+(SumNode|ProductNode|" + "|".join(LEAVES) + r")\s*\(")
_EQUATION = re.compile(r"\(\s*(?:\(|-?[\d.]+(?:[eE][-+]?\d+)?\s*\*|(?:" + "|".join(LEAVES) +
                       r")\s*\()|(?:" + "|".join(LEAVES) + r")\s*\(")


def sniff(path: Path) -> tuple[str, str] | None:
    """(format name, what gave it away), or None when the content matches no format."""
    if path.is_dir():
        return ("libra_spn", "a directory holding spac.m") if (path / "spac.m").is_file() \
            else None
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError:
        return None
    if magic == b"PK\x03\x04":
        return "pcc", "a zip archive"
    head = head_text(path, 1 << 16)
    if head is None:
        return None
    lines = [t.strip() for t in head.splitlines() if t.strip()]
    body = [t for t in lines if not (t == "c" or t.startswith("c "))]
    if not body:
        return None
    first = body[0]
    for tag in ("psdd", "jpc", "vtree"):
        if first == tag or first.startswith(tag + " "):
            return tag, f"it starts with the header {first[:40]!r}"
    if _DOMAINS.fullmatch(lines[0]):
        return _ac_or_pcjl(lines)
    text = " ".join(lines[:3])
    if _GRAPH.match(text):
        return "spflow", "it starts with an SPFlow node definition (NAME SumNode(...)...)"
    if _EQUATION.match(text):
        return "spflow_eq", "it starts like an SPFlow equation"
    return None


def _ac_or_pcjl(lines: list[str]) -> tuple[str, str]:
    """Libra .ac and PC.jl's .spn share the domain header; their node lines differ."""
    sizes = lines[0].strip("()").split()
    if any(s != "2" for s in sizes):
        return "libra_ac", "a domain header with non-binary variables"
    for line in lines[1:]:
        tokens = line.split()
        if tokens[0] == "n":
            return "libra_ac", "a domain header and constant lines 'n value'"
        if tokens[0] == "+":
            if all(t.isdigit() for t in tokens[1:]):
                return "libra_ac", "a domain header and sums of child indices '+ i j'"
            return "pcjl_spn", "a domain header and sums with inline log-weights '+ c w'"
    return "pcjl_spn", "a binary domain header (PC.jl's .spn)"
