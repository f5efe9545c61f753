"""The layers view: the compiler's layered plan drawn over the circuit's nodes.

One cluster per layer (a depth of the plan), inside it one cluster per block labelled with its
op, group count, units, fan-in and padding share; inside a block, its groups drawn as in the node
view (coloured by kind), including the products the block fuses into its einsum (dashed).
The materialized groups of one layer share a rank, so the picture reads bottom-up like the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

from pcc.ir import Circuit
from pcc.viz import style
from pcc.viz.blocks import OP_KIND, block_summary
from pcc.viz.marks import Marks
from pcc.viz.nodes import MAX_EDGES, MAX_NODES, add_edges, check_size

if TYPE_CHECKING:
    from pcc.layering import LayeredCircuit

LAYER_FILL = "#fafafa"


def layers_view(plan: LayeredCircuit, marks: Marks | None = None, digits: int = 2,
                max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES) -> graphviz.Digraph:
    """A `pcc.layering.LayeredCircuit` as a `graphviz.Digraph` with one cluster per layer.
    Raises `TooLargeError` beyond `max_nodes` groups or `max_edges` edges (use the blocks view)."""
    circuit = plan.circuit
    blocks = plan.blocks
    check_size(circuit, "layers", max_nodes, max_edges)
    marks = marks or Marks()
    graph = style.new_graph("layers", newrank="true")
    graph.attr(label=f"{len(circuit)} groups in {len(blocks)} blocks", labelloc="t")
    layers = sorted({int(b.depth) for b in blocks})
    for depth in layers:
        members = [i for i, b in enumerate(blocks) if int(b.depth) == depth]
        with graph.subgraph(name=f"cluster_layer{depth}") as layer:
            layer.attr(label=f"layer {depth}: {style.count_text([('block', len(members))])}",
                       style="filled", fillcolor=LAYER_FILL, color="#999999", labeljust="l",
                       fontsize="12")
            for i in members:
                _block_cluster(layer, plan, i, marks)
        # the groups a layer writes side by side on one rank (fused products float below)
        with graph.subgraph(name=f"rank{depth}") as rank:
            rank.attr(rank="same")
            for i in members:
                for g in blocks[i].groups:
                    rank.node(f"n{int(g)}")
    for group in circuit.groups:
        add_edges(graph, circuit, group.id, marks, digits)
    return graph


def _block_cluster(layer: graphviz.Digraph, plan: LayeredCircuit, index: int,
                   marks: Marks) -> None:
    circuit = plan.circuit
    block = plan.blocks[index]
    kind = OP_KIND[block.op]
    with layer.subgraph(name=f"cluster_block{index}") as cluster:
        cluster.attr(label=f"block {index}: {block_summary(plan, index)}", style="rounded",
                     color=_border(kind), fontsize="10", labeljust="l")
        for g in sorted(int(x) for x in block.groups):
            _group_node(cluster, circuit, g, marks)
        for g in sorted(int(x) for x in block.fused):
            _group_node(cluster, circuit, g, marks, "fused into its block's einsum")
        for g in sorted(int(x) for x in block.aliases):
            _group_node(cluster, circuit, g, marks, "an identity: reads its child's columns")


def _group_node(graph: graphviz.Digraph, circuit: Circuit, id: int, marks: Marks,
                without_op: str = "") -> None:
    """A group's node; one evaluated without an op of its own is dashed, `without_op` saying
    why in its tooltip."""
    group = circuit.groups[id]
    attrs = style.node_attrs(group)
    attrs["tooltip"] = style.tooltip(circuit, group)
    if without_op:
        attrs["style"] = attrs["style"] + ",dashed"
        attrs["tooltip"] += "\\n" + without_op
    marks.mark_node(id, attrs)
    graph.node(f"n{id}", **attrs)


def _border(kind: str) -> str:
    # a darker shade of the kind's fill, for the block frame
    return {"input": "#5a9e5a", "product": "#4a78b5", "sum": "#c9832f"}[kind]
