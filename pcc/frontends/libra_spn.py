"""Libra `.spn` model directories (ID-SPN, mixtures of trees) -> `Circuit`.

A directory `model.spn/` holds `spac.m` and one `spac-<id>.ac` per leaf:

    spac
    count                          ; number of node records (null placeholders included)
    n id type parent               ; then, by type:
      +    : children line ; log-weight line ; scope line
      *    : [old dialect: one float line] ; children line ; scope line
      ac   : scope line            ; the leaf circuit is spac-<id>.ac
      null : nothing               ; an unused id

Node 0 is the root; children may be listed before they are defined. Leaf ACs use local
variable numbers: variable i of spac-<id>.ac is global variable scope[i]. Each leaf AC is
normalized on import (see `libra_ac`), as Libra does; sum weights are logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pcc.frontends._text import Line, Records, indicator_domains, lines_of
from pcc.frontends.libra_ac import read_ac
from pcc.ir import Circuit, FormatError


@dataclass
class _Node:
    line: Line
    kind: str
    children: list[int] = field(default_factory=list)
    children_line: Line | None = None
    log_weights: list[float] = field(default_factory=list)
    scope: list[int] = field(default_factory=list)


def load_libra_spn(path: str | Path) -> Circuit:
    """The circuit of a Libra `.spn` directory."""
    folder = Path(path)
    if not folder.is_dir():
        raise FormatError("a Libra .spn model is a directory holding spac.m", str(path))
    nodes = _read_spac(folder / "spac.m")
    if 0 not in nodes:
        raise FormatError("no root: node 0 is not defined", str(folder / "spac.m"))
    rec = Records()
    sizes: dict[int, int] = {}
    built: dict[int, int] = {}
    _build(folder, nodes, rec, sizes, built)
    num_vars = max(max(sizes, default=-1), max(nodes[0].scope, default=-1)) + 1
    domains = indicator_domains(rec, [sizes.get(v, 2) for v in range(num_vars)], str(folder))
    return rec.build(domains, str(folder), built[0])


def _read_spac(path: Path) -> dict[int, _Node]:
    name = str(path)
    lines = lines_of(path)
    if not lines or lines[0].tokens != ["spac"]:
        raise (lines[0].error("expected the header 'spac'", 0) if lines
               else FormatError("empty file (expected 'spac')", name))
    if len(lines) < 2:
        raise FormatError("truncated file: no record count", name, lines[0].number + 1)
    lines[1].expect_count(1, "the record count")
    count = lines[1].int(0, "the record count")
    nodes: dict[int, _Node] = {}
    records = 0
    i = 2
    while i < len(lines):
        head = lines[i]
        if head.tokens[0] != "n":
            raise head.error("expected a record 'n id type parent'", 0)
        head.expect_count(4, "a record 'n id type parent'")
        node_id = head.int(1, "the node id")
        kind = head.token(2, "the node type")
        head.int(3, "the parent id", low=-1)
        if kind not in ("+", "*", "ac", "null"):
            raise head.error("node type must be +, *, ac or null", 2)
        if node_id in nodes:
            raise head.error("duplicate node id", 1)
        records += 1
        node = _Node(head, kind)
        i += 1
        if kind == "null":
            continue
        body = {"+": 3, "*": 2, "ac": 1}[kind]
        if kind == "*" and i < len(lines) and len(lines[i].tokens) == 1 and \
                not lines[i].tokens[0].lstrip("-").isdigit() and lines[i].tokens[0] != "n":
            lines[i].float(0, "the old dialect's product constant")
            i += 1
        if i + body > len(lines) or any(lines[j].tokens[0] == "n" for j in range(i, i + body)):
            where = lines[min(i, len(lines) - 1)]
            raise FormatError(f"truncated record: node {node_id} ({kind}) needs {body} more "
                              "lines", name, where.number)
        if kind != "ac":
            node.children_line = lines[i]
            node.children = [lines[i].int(t, "a child id") for t in range(len(lines[i].tokens))]
            i += 1
        if kind == "+":
            w = lines[i]
            node.log_weights = [w.float(t, "a log-weight") for t in range(len(w.tokens))]
            if len(node.log_weights) != len(node.children):
                raise w.error(f"{len(node.children)} children but {len(node.log_weights)} "
                              "weights", min(len(w.tokens), len(node.children)))
            i += 1
        node.scope = [lines[i].variable(t, "a scope variable", low=0)
                      for t in range(len(lines[i].tokens))]
        i += 1
        nodes[node_id] = node
    if records != count:
        raise lines[1].error(f"the header says {count} records but the file has {records}", 0)
    return nodes


def _build(folder: Path, nodes: dict[int, _Node], rec: Records, sizes: dict[int, int],
           built: dict[int, int]) -> None:
    """Post-order from the root (iterative: models can be deep), memoized by node id."""
    stack: list[tuple[int, bool]] = [(0, False)]
    on_path: set[int] = set()
    while stack:
        node_id, expanded = stack.pop()
        if node_id in built:
            continue
        node = nodes[node_id]
        if node.kind == "ac":
            built[node_id] = _leaf(folder, node_id, node, rec, sizes)
            continue
        if not expanded:
            on_path.add(node_id)
            stack.append((node_id, True))
            for t, child in reversed(list(enumerate(node.children))):  # first child first
                if child not in nodes:
                    raise node.children_line.error(  # type: ignore[union-attr]
                        "unknown child id (no such record, or a null placeholder)", t)
                if child in on_path:
                    raise node.children_line.error("child id makes a cycle", t)  # type: ignore
                stack.append((child, False))
            continue
        on_path.discard(node_id)
        children = [built[c] for c in node.children]
        if node.kind == "*":
            built[node_id] = rec.add("product", children, None, node.line.origin)
        else:
            with np.errstate(over="ignore"):  # a huge log-weight: Circuit reports the inf
                weights = np.exp(node.log_weights)
            built[node_id] = rec.add("sum", children, weights, node.line.origin)


def _leaf(folder: Path, node_id: int, node: _Node, rec: Records, sizes: dict[int, int]) -> int:
    path = folder / f"spac-{node_id}.ac"
    if not path.exists():
        raise node.line.error(f"leaf circuit {path.name} is missing", 1)
    root, local_sizes, _ = read_ac(path, rec, node.scope)
    for var, size in zip(node.scope, local_sizes):
        sizes[var] = max(sizes.get(var, 0), size)
    return root
