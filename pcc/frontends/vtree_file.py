"""UCLA `.vtree` files <-> `pcc.ir.Vtree` (variables are 1-based in files, 0-based in pcc).

    vtree N            ; N = number of node lines
    L id var           ; leaf for variable var (>= 1)
    I id left right    ; inner node; children must appear earlier
    c ...              ; comment

Nodes appear children first and the root is the last line; ids are arbitrary non-negative ints.
"""

from __future__ import annotations

from pathlib import Path

from pcc.frontends._text import Line, lines_of
from pcc.ir import FormatError, Vtree

HEADER = """c ids of vtree nodes start at 0
c ids of variables start at 1
c vtree nodes appear bottom-up, children before parents
c
c file syntax:
c vtree number-of-nodes-in-vtree
c L id-of-leaf-vtree-node id-of-variable
c I id-of-internal-vtree-node id-of-left-child id-of-right-child
c
"""


def read_vtree(path: str | Path, text: str | None = None) -> tuple[Vtree, dict[int, int]]:
    """The vtree of a `.vtree` file and the map from file ids to `Vtree` positions."""
    name = str(path)
    lines = [ln for ln in lines_of(path, text) if ln.tokens[0] != "c"]
    if not lines:
        raise FormatError("empty vtree file (expected a 'vtree N' header)", name)
    head = lines[0]
    if head.tokens[0] != "vtree":
        raise head.error("expected the header 'vtree N'", 0)
    head.expect_count(2, "the header 'vtree N'")
    count = head.int(1, "the node count")
    left: list[int] = []
    right: list[int] = []
    var: list[int] = []
    ids: dict[int, int] = {}
    parent_line: dict[int, Line] = {}
    seen_vars: dict[int, Line] = {}
    for line in lines[1:]:
        tag = line.tokens[0]
        if tag == "L":
            line.expect_count(3, "a leaf 'L id var'")
            v = line.variable(2)
            if v in seen_vars:
                raise line.error(f"variable {v} already has a leaf at line "
                                 f"{seen_vars[v].number}", 2)
            seen_vars[v] = line
            left.append(-1)
            right.append(-1)
            var.append(v - 1)
        elif tag == "I":
            line.expect_count(4, "an inner node 'I id left right'")
            kids = []
            for index in (2, 3):
                child = line.int(index, "a child id")
                if child not in ids:
                    raise line.error("unknown child id (children must appear before their "
                                     "parent)", index)
                if ids[child] in parent_line:
                    raise line.error(f"vtree node {child} already has a parent at line "
                                     f"{parent_line[ids[child]].number}", index)
                parent_line[ids[child]] = line
                kids.append(ids[child])
            if kids[0] == kids[1]:
                raise line.error("the two children of a vtree node must differ", 3)
            left.append(kids[0])
            right.append(kids[1])
            var.append(-1)
        else:
            raise line.error("expected a vtree line 'L', 'I' or a comment 'c'", 0)
        node_id = line.int(1, "the node id")
        if node_id in ids:
            raise line.error("duplicate vtree node id", 1)
        ids[node_id] = len(var) - 1
    if not var:
        raise FormatError("the vtree has no nodes", name)
    if count != len(var):
        raise head.error(f"the header says {count} nodes but the file has {len(var)}", 1)
    orphans = [i for i in range(len(var) - 1) if i not in parent_line]
    if orphans:
        raise FormatError(f"vtree node at position {orphans[0]} is not under the root (the last "
                          "node line)", name)
    return Vtree(tuple(left), tuple(right), tuple(var)), ids


def load_vtree(path: str | Path) -> Vtree:
    """The `pcc.ir.Vtree` of a UCLA `.vtree` file (what `--vtree FILE` reads)."""
    return read_vtree(path)[0]


def format_vtree(vtree: Vtree) -> str:
    """The `.vtree` text of `vtree`; node ids are positions."""
    out = [HEADER, f"vtree {len(vtree.var)}\n"]
    for i, v in enumerate(vtree.var):
        out.append(f"L {i} {v + 1}\n" if v >= 0 else f"I {i} {vtree.left[i]} {vtree.right[i]}\n")
    return "".join(out)


def save_vtree(vtree: Vtree, path: str | Path) -> None:
    Path(path).write_text(format_vtree(vtree))
