"""The layers view of a large circuit: one row per depth of the plan, one box per block.

A circuit too large to draw group by group (10^5 groups, 10^6 units) still has only a few
hundred blocks, a handful per depth. Each row is a depth (`rank=same`, a ruler on the left
names it with its totals); each box is a block: op, groups, units, fan-in, padding, its width
growing with the log of its units. Edges are group edges counted per pair of boxes and drawn
only between boxes of adjacent rows, thicker for more edges; edges that skip rows are counted
in the reading box's label instead (`skip edges: 120 to depths 0..3`): drawn, they would be long
crossing lines, the very thing that made the blocks view of a deep circuit unreadable. A row of
more than `max_row` blocks merges its blocks per op. A plan deeper than `max_rows` depths wraps
into balanced columns (framed, lowest depths on the left, each column read bottom-up): the
105 depths of the MNIST .jpc circuit as one column make a picture ten times taller than
wide. Edges between the top of one column and the bottom of the next are counted, not drawn.
The DOT text depends on the plan alone.
"""

from __future__ import annotations

import math
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import graphviz
import numpy as np

from pcc.viz import style
from pcc.viz.blocks import OP_KIND, Box, block_groups, group_list, merge_blocks
from pcc.viz.marks import Marks, mark

if TYPE_CHECKING:
    from pcc.layering import LayeredCircuit

MAX_ROW = 8  # boxes in one row before a row merges its blocks per op
MAX_ROWS = 40  # rows in one column before the depths wrap into several columns
MAX_TOOLTIP_MESSAGES = 5
GLYPH = {"input": "", "product": "× ", "sum": "+ ", "dense": "+ ", "kron": "⊗+ "}


def summary_boxes(plan: LayeredCircuit, max_row: int = MAX_ROW) -> list[Box]:
    """One box per block, except in a row of more than `max_row` blocks: one per op there."""
    rows: dict[int, list[int]] = {}
    for i, b in enumerate(plan.blocks):
        rows.setdefault(int(b.depth), []).append(i)
    boxes = []
    for depth, ids in sorted(rows.items()):
        if len(ids) <= max_row:
            boxes += [Box(f"b{i}", plan.blocks[i].op, depth, depth, (i,),
                          block_groups(plan.blocks[i])) for i in ids]
            continue
        per_op: dict[str, list[int]] = {}
        for i in ids:
            per_op.setdefault(plan.blocks[i].op, []).append(i)
        boxes += [merge_blocks(plan, f"d{depth}_{op}", op, depth, depth, per_op[op])
                  for op in sorted(per_op)]
    return boxes


def box_edges(plan: LayeredCircuit, boxes: list[Box]) -> Counter[tuple[int, int]]:
    """Group edges per (parent box, child box), leaving out edges inside a box."""
    owner = np.full(len(plan.circuit), -1, dtype=np.int64)
    for i, box in enumerate(boxes):
        owner[box.groups] = i
    edges: Counter[tuple[int, int]] = Counter()
    groups = plan.circuit.groups
    for i, box in enumerate(boxes):
        children = [c for g in box.groups.tolist() for c in groups[g].children]
        for child, count in Counter(owner[children].tolist()).items():
            if child != i:
                edges[(i, int(child))] += count
    return edges


def summary_view(plan: LayeredCircuit, marks: Marks | None = None, max_row: int = MAX_ROW,
                 max_rows: int = MAX_ROWS) -> graphviz.Digraph:
    """A `pcc.layering.LayeredCircuit` as rows of block boxes (see the module docstring)."""
    marks = marks or Marks()
    circuit = plan.circuit
    boxes = summary_boxes(plan, max_row)
    depths = sorted({box.depth for box in boxes})
    column, height = _columns(len(depths), max_rows)
    # rows are adjacent when their depths are next to each other in `depths` (even where a
    # depth has no block) and in the same column
    row = {d: r for r, d in enumerate(depths)}
    edges = box_edges(plan, boxes)
    adjacent = {e: n for e, n in edges.items()
                if row[boxes[e[0]].depth] == row[boxes[e[1]].depth] + 1
                and row[boxes[e[0]].depth] // height == row[boxes[e[1]].depth] // height}
    skipped: dict[int, tuple[int, int, int]] = {}  # box: (skip edges, lowest, highest depth)
    for (parent, child), n in edges.items():
        if (parent, child) not in adjacent:
            count, low, high = skipped.get(parent, (0, boxes[child].depth, boxes[child].depth))
            skipped[parent] = (count + n, min(low, boxes[child].depth),
                               max(high, boxes[child].depth))
    heaviest = max(adjacent.values(), default=1)
    graph = style.new_graph("layers_summary", newrank="true", nodesep="0.3", ranksep="0.35")
    total_edges = sum(len(g.children) for g in circuit.groups)
    title = (f"{_count(len(circuit))} groups, {_count(circuit.num_units)} units, "
             f"{_count(total_edges)} group edges; {_plural(len(plan.blocks), 'block')} "
             f"in {_plural(len(depths), 'depth')}\\n"
             "edges: group edges between adjacent depths (width by count); "
             "edges that skip depths are counted in the boxes")
    if column > 1:
        title += f"\\nthe depths wrap into {column} columns, lowest on the left"
    graph.attr(label=title, labelloc="t", fontsize="16")
    graph.attr("node", fontsize="10")
    members = {d: [i for i, box in enumerate(boxes) if box.depth == d] for d in depths}
    for c in range(column):
        part = depths[c * height:(c + 1) * height]
        frame = nullcontext(graph) if column == 1 else _frame(graph, f"cluster_column{c}", part)
        with frame as into:
            for depth in part:
                with into.subgraph(name=f"depth{depth}") as rank:
                    if column == 1:
                        rank.attr(rank="same")
                    rank.node(f"depth{depth}", label=_ruler_label(plan, boxes, members[depth],
                                                                  depth),
                              shape="plaintext", fontsize="11")
                    for i in members[depth]:
                        rank.node(boxes[i].name, **_box_attrs(
                            plan, boxes[i], skipped.get(i, (0, 0, 0)), marks))
        # the ruler: an invisible chain down the left that keeps the rows in depth order
        for upper, lower in zip(part[::-1], part[::-1][1:]):
            graph.edge(f"depth{upper}", f"depth{lower}", style="invis", weight="100")
    if column > 1:
        # a row across the columns: its depths side by side on one rank, columns left to right
        for r in range(height):
            line = [depths[c * height + height - 1 - r] for c in range(column)
                    if c * height + height - 1 - r < len(depths)]
            with graph.subgraph(name=f"row{r}") as rank:
                rank.attr(rank="same")
                for depth in line:
                    rank.node(f"depth{depth}")
                    for i in members[depth]:
                        rank.node(boxes[i].name)
        # invisible flat edges: each ruler left of its row's boxes (as dot does by itself
        # without the columns), and on the bottom row column c left of column c + 1
        for depth in depths:
            for i in members[depth]:
                graph.edge(f"depth{depth}", boxes[i].name, style="invis")
        for c in range(column - 1):
            graph.edge(f"depth{depths[c * height]}", f"depth{depths[(c + 1) * height]}",
                       style="invis")
    for (parent, child), n in sorted(adjacent.items()):
        graph.edge(boxes[parent].name, boxes[child].name, label=_count(n),
                   penwidth=_width(n, heaviest),
                   tooltip=f"{n} group edge{'s' if n != 1 else ''}")
    return graph


def _columns(rows: int, max_rows: int) -> tuple[int, int]:
    """(columns, rows per column): one column up to `max_rows` rows, then as many balanced
    columns as keep each at most `max_rows` tall."""
    columns = max(1, -(-rows // max(max_rows, 1)))
    return columns, -(-rows // columns)


class _frame(AbstractContextManager):  # type: ignore[type-arg]
    """`with _frame(graph, name, depths) as g`: a cluster framing one column of depths."""

    def __init__(self, graph: graphviz.Digraph, name: str, depths: list[int]) -> None:
        self.context = graph.subgraph(name=name)
        self.label = f"depths {depths[0]}..{depths[-1]}"

    def __enter__(self) -> graphviz.Digraph:
        cluster = self.context.__enter__()
        cluster.attr(label=self.label, color="#cccccc", labeljust="l", fontsize="12")
        return cluster

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(*exc)


def _ruler_label(plan: LayeredCircuit, boxes: list[Box], members: list[int], depth: int) -> str:
    groups = sum(len(boxes[i].groups) for i in members)
    units = sum(plan.blocks[b].rows for i in members for b in boxes[i].blocks)
    return f"depth {depth}\\n{_plural(groups, 'group')}\\n{_plural(units, 'unit') or '0 units'}"


def _count(n: int) -> str:
    """`153,021`: thousands separated, so that 10^5 and 10^6 read at a glance."""
    return f"{n:,}"


def _plural(n: int, noun: str) -> str:
    """`1 group`, `1,018 groups`, `2 identities`; empty for zero."""
    if not n:
        return ""
    if n != 1:
        noun = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{_count(n)} {noun}"


def _width(count: int, heaviest: int) -> str:
    """Edge width 0.5..6 on a log scale of its count."""
    return f"{0.5 + 5.5 * math.log1p(count) / math.log1p(heaviest):.2f}"


def _box_label(plan: LayeredCircuit, box: Box, skip: tuple[int, int, int]) -> str:
    blocks = [plan.blocks[i] for i in box.blocks]
    first = blocks[0]
    name = f"block {box.blocks[0]}" if len(blocks) == 1 else f"{len(blocks)} blocks"
    op = GLYPH.get(box.op, "") + box.op + (f" {first.family}" if first.family else "")
    lines = [f"{op}  ({name})"]
    rows = sum(b.rows for b in blocks)
    units = f"  K={first.units}" if len(blocks) == 1 and first.units else ""
    # groups without an op of their own: identities (no units) and products fused into a sum
    extra = [_plural(sum(len(b.aliases) for b in blocks), "identity"),
             _plural(sum(len(b.fused) for b in blocks), "fused product")]
    of_them = ", ".join(part for part in extra if part)
    lines.append(f"{_plural(len(box.groups), 'group')}{f' ({of_them})' if of_them else ''}  "
                 f"{_plural(rows, 'unit')}{units}")
    inner = [b for b in blocks if b.op != "input"]
    if inner:
        fans = sorted({int(b.fan_in) for b in inner})
        fan = str(fans[0]) if len(fans) == 1 else f"{fans[0]}..{fans[-1]}"
        slots = sum(b.rows * b.fan_in for b in inner)
        pads = sum(b.rows * b.fan_in * b.padding for b in inner)
        lines.append(f"fan-in {fan}  pad {round(100 * pads / max(slots, 1))}%")
    if skip[0]:
        n, low, high = skip
        where = f"depth {low}" if low == high else f"depths {low}..{high}"
        lines.append(f"skip edges: {_count(n)} to {where}")
    return "\\n".join(lines)


def _box_attrs(plan: LayeredCircuit, box: Box, skip: tuple[int, int, int],
               marks: Marks) -> dict[str, str]:
    rows = sum(plan.blocks[i].rows for i in box.blocks)
    attrs = {"shape": "box", "style": "filled", "fillcolor": style.COLOURS[OP_KIND[box.op]],
             "label": _box_label(plan, box, skip),
             # wider for more units: 1.2 in for one unit, 3.2 in for 10^6
             "width": f"{1.2 + math.log10(max(rows, 1)) / 3:.2f}",
             "tooltip": f"depth {box.depth}, block{'s' if len(box.blocks) > 1 else ''} "
                        f"{', '.join(map(str, box.blocks))}: {group_list(box.groups)}"}
    messages = marks.messages_in(box.groups.tolist())
    if messages:
        shown = messages[:MAX_TOOLTIP_MESSAGES]
        summary = [f"{len(messages)} violation{'s' if len(messages) != 1 else ''}"] + shown
        if len(messages) > len(shown):
            summary.append(f"... and {len(messages) - len(shown)} more")
        mark(attrs, summary, any(g in marks.invalid for g in box.groups.tolist()))
    return attrs
