"""The blocks view: a summary of a layered plan that stays readable for 10^5-group circuits.

One box per block of the plan (op, depth, group count, units, fan-in, padding share), edges
between blocks labelled with how many group edges they stand for, boxes of one depth on one
rank. When a plan has more than `max_boxes` blocks, the blocks of one op in one depth merge into
one box; when that is still too many (deep circuits, e.g. 124 depths for a LearnSPN-style SPN),
all blocks of a band of consecutive depths do (inputs stay apart), the bands as narrow as
`max_boxes` allows: a column of bands reads better than sum and product boxes side by side with
edges both ways. `dot` lays out a few dozen boxes in a second; hundreds of boxes over a
hundred ranks take minutes and give a picture nobody can read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import graphviz
import numpy as np

from pcc.viz import style
from pcc.viz.marks import Marks, mark

if TYPE_CHECKING:
    from pcc.layering import Block, LayeredCircuit

MAX_BOXES = 40
MAX_TOOLTIP_MESSAGES = 5
MAX_TOOLTIP_GROUPS = 12
MIXED_FILL = "#eeeeee"  # a band of several ops
# the colour of each block op: the kind of node it evaluates (kron = a sum over fused products)
OP_KIND = {"input": "input", "product": "product", "sum": "sum", "dense": "sum", "kron": "sum"}


@dataclass(frozen=True)
class Box:
    """Blocks drawn as one box: their indices, and every group they evaluate or fuse."""

    name: str
    op: str
    depth: int  # the first depth of the box's band (its rank in the picture)
    last: int  # the last depth of the band (== depth unless depths were banded)
    blocks: tuple[int, ...]
    groups: np.ndarray


def block_groups(block: Block) -> np.ndarray:
    """The groups a block writes plus the products fused into it and the identity groups
    that read its columns, ascending."""
    ids = np.concatenate([np.asarray(block.groups, dtype=np.int64),
                          np.asarray(block.fused, dtype=np.int64),
                          np.asarray(block.aliases, dtype=np.int64)])
    return np.unique(ids)


def block_summary(plan: LayeredCircuit, index: int) -> str:
    """`dense  12 groups  K=4  fan-in 8  pad 6%`: one block's label line, also used by the
    layers view."""
    b = plan.blocks[index]
    op = b.op + (f" {b.family}" if b.family else "")
    parts = [f"{op}", style.count_text([("group", len(b.groups))])]
    if b.fused.size:
        parts.append("+" + style.count_text([("fused product", len(b.fused))]))
    if b.aliases.size:
        parts.append("+" + style.count_text([("identity group", len(b.aliases))]))
    if b.units:  # dense/kron blocks: K units per group
        parts.append(f"K={b.units}")
    parts.append(style.count_text([("unit", b.rows)]))
    if b.op != "input":
        parts.append(f"fan-in {b.fan_in}")
        parts.append(f"pad {round(100 * b.padding)}%")
    return "  ".join(parts)


def make_boxes(plan: LayeredCircuit, max_boxes: int) -> list[Box]:
    """The boxes to draw: one per block, or per (depth, op), or per band of depths with the
    narrowest bands that give at most `max_boxes` boxes (each block in exactly one box)."""
    blocks = plan.blocks
    if len(blocks) <= max_boxes:
        return [Box(f"b{i}", b.op, int(b.depth), int(b.depth), (i,), block_groups(b))
                for i, b in enumerate(blocks)]
    merged: dict[tuple[int, str], list[int]] = {}
    for i, b in enumerate(blocks):
        merged.setdefault((int(b.depth), b.op), []).append(i)
    if len(merged) <= max_boxes:
        return [merge_blocks(plan, f"d{depth}_{op}", op, depth, depth, ids)
                for (depth, op), ids in sorted(merged.items())]
    # the inputs keep a box of their own; the other depths form at most max_boxes - 1 bands
    inputs = [i for i, b in enumerate(blocks) if b.op == "input"]
    boxes = [merge_blocks(plan, "inputs", "input", 0, 0, inputs)] if inputs else []
    depths = sorted({int(b.depth) for b in blocks if b.op != "input"})
    width = -(-len(depths) // max(max_boxes - 1, 1))  # ceil
    bands: dict[int, list[int]] = {}
    position = {d: k for k, d in enumerate(depths)}
    for i, b in enumerate(blocks):
        if b.op != "input":
            bands.setdefault(position[int(b.depth)] // width, []).append(i)
    for band, ids in sorted(bands.items()):
        first = depths[band * width]
        last = depths[min((band + 1) * width, len(depths)) - 1]
        ops = {blocks[i].op for i in ids}
        op = ops.pop() if len(ops) == 1 else "mixed"
        boxes.append(merge_blocks(plan, f"d{first}_{last}", op, first, last, ids))
    return boxes


def merge_blocks(plan: LayeredCircuit, name: str, op: str, first: int, last: int,
           ids: list[int]) -> Box:
    groups = np.unique(np.concatenate([block_groups(plan.blocks[i]) for i in ids]))
    return Box(name, op, first, last, tuple(ids), groups)


def box_label(plan: LayeredCircuit, box: Box) -> str:
    blocks = plan.blocks
    if len(box.blocks) == 1:
        return f"block {box.blocks[0]}  depth {box.depth}\\n" + block_summary(plan, box.blocks[0])
    rows = sum(blocks[i].rows for i in box.blocks)
    inner = [blocks[i] for i in box.blocks if blocks[i].op != "input"]
    slots = sum(b.rows * b.fan_in for b in inner)
    pads = sum(b.rows * b.fan_in * b.padding for b in inner)
    where = f"depth {box.depth}" if box.last == box.depth else f"depths {box.depth}..{box.last}"
    ops = Counter(blocks[i].op for i in box.blocks)
    kinds = ", ".join(f"{n} {op}" for op, n in sorted(ops.items()))
    text = (f"{kinds} blocks  {where}\\n"
            f"{style.count_text([('group', len(box.groups)), ('unit', rows)])}")
    if inner:
        fans = sorted({int(b.fan_in) for b in inner})
        fan = str(fans[0]) if len(fans) == 1 else f"{fans[0]}..{fans[-1]}"
        text += f"  fan-in {fan}  pad {round(100 * pads / max(slots, 1))}%"
    return text


def blocks_view(plan: LayeredCircuit, marks: Marks | None = None,
                max_boxes: int = MAX_BOXES) -> graphviz.Digraph:
    """A `pcc.layering.LayeredCircuit` as a `graphviz.Digraph` of blocks; with `marks`, a box
    holding a node a check report names is red, its tooltip listing the violations."""
    marks = marks or Marks()
    circuit = plan.circuit
    boxes = make_boxes(plan, max_boxes)
    owner = np.full(len(circuit), -1, dtype=np.int64)
    for i, box in enumerate(boxes):
        owner[box.groups] = i
    graph = style.new_graph("blocks", newrank="true")
    graph.attr(label=f"{len(circuit)} groups, {circuit.num_units} units, "
                     f"{len(plan.blocks)} blocks",
               labelloc="t")
    for depth in sorted({box.depth for box in boxes}):
        with graph.subgraph(name=f"depth{depth}") as rank:
            rank.attr(rank="same")
            for box in boxes:
                if box.depth == depth:
                    rank.node(box.name, **_box_attrs(plan, box, marks))
    edges: Counter[tuple[int, int]] = Counter()
    for i, box in enumerate(boxes):
        for g in box.groups:
            for c in circuit.groups[g].children:
                if owner[c] != i:  # edges inside a box (a fused product) are not drawn
                    edges[(i, int(owner[c]))] += 1
    for (parent, child), count in sorted(edges.items()):
        graph.edge(boxes[parent].name, boxes[child].name, label=str(count),
                   tooltip=f"{count} group edge{'s' if count != 1 else ''}")
    return graph


def group_list(ids: np.ndarray) -> str:
    """`groups #3, #4, #9` (the first few, then how many in all), for a box's tooltip."""
    shown = ", ".join(f"#{int(i)}" for i in ids[:MAX_TOOLTIP_GROUPS])
    more = f", ... ({len(ids)} groups)" if len(ids) > MAX_TOOLTIP_GROUPS else ""
    return f"groups {shown}{more}"


def _box_attrs(plan: LayeredCircuit, box: Box, marks: Marks) -> dict[str, str]:
    fill = style.COLOURS[OP_KIND[box.op]] if box.op in OP_KIND else MIXED_FILL
    attrs = {"shape": "box", "style": "filled", "fillcolor": fill,
             "label": box_label(plan, box),
             "tooltip": group_list(box.groups)}
    messages = marks.messages_in(box.groups.tolist())
    if messages:
        shown = messages[:MAX_TOOLTIP_MESSAGES]
        more = len(messages) - len(shown)
        summary = [f"{len(messages)} violation{'s' if len(messages) != 1 else ''}"] + shown
        if more:
            summary.append(f"... and {more} more")
        mark(attrs, summary, any(g in marks.invalid for g in box.groups.tolist()))
    return attrs
