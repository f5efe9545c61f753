"""The blocks view: a summary of a layered plan that stays readable for 10^5-group circuits.

One box per block of the plan (op, depth, group count, units, fan-in, padding share), edges
between blocks labelled with how many group edges they stand for, boxes of one depth on one
rank. When a plan has more than `max_boxes` blocks, the blocks of one (depth, op) merge into one
box, so the picture has at most (depth levels x ops) boxes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import graphviz
import numpy as np

from pcc.viz import style
from pcc.viz.marks import Marks, mark

MAX_BOXES = 150
MAX_TOOLTIP_MESSAGES = 5
# the colour of each block op: the kind of node it evaluates (kron = a sum over fused products)
OP_KIND = {"input": "input", "product": "product", "sum": "sum", "dense": "sum", "kron": "sum"}


@dataclass(frozen=True)
class Box:
    """Blocks drawn as one box: their indices, and every group they evaluate or fuse."""

    name: str
    op: str
    depth: int
    blocks: tuple[int, ...]
    groups: np.ndarray


def block_groups(block: object) -> np.ndarray:
    """The groups a block writes plus the products fused into it, ascending."""
    ids = np.concatenate([np.asarray(block.groups, dtype=np.int64),  # type: ignore[attr-defined]
                          np.asarray(block.fused, dtype=np.int64)])  # type: ignore[attr-defined]
    return np.unique(ids)


def block_summary(plan: object, index: int) -> str:
    """`dense  12 groups  K=4  fan-in 8  pad 6%`: one block's label line, also used by the
    layers view."""
    b = plan.blocks[index]  # type: ignore[attr-defined]
    op = b.op + (f" {b.family}" if b.family else "")
    parts = [f"{op}", style.count_text([("group", len(b.groups))])]
    if b.fused.size:
        parts.append("+" + style.count_text([("fused product", len(b.fused))]))
    if b.units:  # dense/kron blocks: K units per group
        parts.append(f"K={b.units}")
    parts.append(style.count_text([("unit", b.rows)]))
    if b.op != "input":
        parts.append(f"fan-in {b.fan_in}")
        parts.append(f"pad {round(100 * b.padding)}%")
    return "  ".join(parts)


def make_boxes(plan: object, max_boxes: int) -> list[Box]:
    blocks = plan.blocks  # type: ignore[attr-defined]
    if len(blocks) <= max_boxes:
        return [Box(f"b{i}", b.op, int(b.depth), (i,), block_groups(b))
                for i, b in enumerate(blocks)]
    merged: dict[tuple[int, str], list[int]] = {}
    for i, b in enumerate(blocks):
        merged.setdefault((int(b.depth), b.op), []).append(i)
    return [Box(f"d{depth}_{op}", op, depth, tuple(ids),
                np.unique(np.concatenate([block_groups(blocks[i]) for i in ids])))
            for (depth, op), ids in sorted(merged.items())]


def box_label(plan: object, box: Box) -> str:
    blocks = plan.blocks  # type: ignore[attr-defined]
    if len(box.blocks) == 1:
        return f"block {box.blocks[0]}  depth {box.depth}\\n" + block_summary(plan, box.blocks[0])
    rows = sum(blocks[i].rows for i in box.blocks)
    slots = sum(blocks[i].rows * max(blocks[i].fan_in, 1) for i in box.blocks)
    pads = sum(blocks[i].rows * max(blocks[i].fan_in, 1) * blocks[i].padding for i in box.blocks)
    text = (f"{len(box.blocks)} {box.op} blocks  depth {box.depth}\\n"
            f"{style.count_text([('group', len(box.groups)), ('unit', rows)])}")
    if box.op != "input":
        fans = sorted({int(blocks[i].fan_in) for i in box.blocks})
        fan = str(fans[0]) if len(fans) == 1 else f"{fans[0]}..{fans[-1]}"
        text += f"  fan-in {fan}  pad {round(100 * pads / max(slots, 1))}%"
    return text


def blocks_view(plan: object, marks: Marks | None = None,
                max_boxes: int = MAX_BOXES) -> graphviz.Digraph:
    """A `pcc.layering.LayeredCircuit` as a `graphviz.Digraph` of blocks; with `marks`, a box
    holding a node a check report names is red, its tooltip listing the violations."""
    marks = marks or Marks()
    circuit = plan.circuit  # type: ignore[attr-defined]
    boxes = make_boxes(plan, max_boxes)
    owner = np.full(len(circuit), -1, dtype=np.int64)
    for i, box in enumerate(boxes):
        owner[box.groups] = i
    graph = style.new_graph("blocks", newrank="true")
    graph.attr(label=f"{len(circuit)} groups, {circuit.num_units} units, "
                     f"{len(plan.blocks)} blocks",  # type: ignore[attr-defined]
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


def _box_attrs(plan: object, box: Box, marks: Marks) -> dict[str, str]:
    attrs = {"shape": "box", "style": "filled", "fillcolor": style.COLOURS[OP_KIND[box.op]],
             "label": box_label(plan, box),
             "tooltip": f"groups #{box.groups[0]}..#{box.groups[-1]}" if len(box.groups) else ""}
    messages = marks.messages_in(box.groups.tolist())
    if messages:
        shown = messages[:MAX_TOOLTIP_MESSAGES]
        more = len(messages) - len(shown)
        summary = [f"{len(messages)} violation{'s' if len(messages) != 1 else ''}"] + shown
        if more:
            summary.append(f"... and {more} more")
        mark(attrs, summary, any(g in marks.invalid for g in box.groups.tolist()))
    return attrs
