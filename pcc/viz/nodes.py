"""The node view: one graph node per group, edges from parent to child, root at the top.

Sums are circles with `+` (a double circle for a mixing sum), products circles with `×`
(`⊗` for Kronecker), leaves rounded boxes with family and variable; `[k]` shows k units.
Sum edges carry their weights, rounded. Hovering (SVG) shows id, kind, units and scope.
Leaves share the bottom rank so that the picture reads like the usual PC drawings.
"""

from __future__ import annotations

import graphviz

from pcc.ir import Circuit, PccError, Sum
from pcc.viz import style
from pcc.viz.marks import Marks

MAX_NODES = 400
MAX_EDGES = 800
"""The largest circuit (groups, edges) the node and layers views draw; beyond it the picture is
unreadable and `dot` slow, so callers switch to the blocks view. `dot`'s time grows faster than
quadratically in the edges: 260 groups and 573 edges of Libra's alarm AC take 3 s, all of it
(1418 groups, 3263 edges) 214 s; trees of 400 groups take half a second."""


class TooLargeError(PccError):
    """A circuit (or region graph) is larger than a view can draw readably."""


def oversize(circuit: Circuit, view: str, max_nodes: int = MAX_NODES,
             max_edges: int = MAX_EDGES) -> str | None:
    """Why `circuit` is too large for `view`, or None when it fits."""
    if len(circuit) > max_nodes:
        return (f"the circuit has {len(circuit)} groups, too many for the {view} view "
                f"(at most {max_nodes})")
    edges = sum(len(g.children) for g in circuit.groups)
    if edges > max_edges:
        return (f"the circuit has {edges} edges, too many for the {view} view "
                f"(at most {max_edges})")
    return None


def check_size(circuit: Circuit, view: str, max_nodes: int, max_edges: int) -> None:
    reason = oversize(circuit, view, max_nodes, max_edges)
    if reason:
        raise TooLargeError(f"{reason}; use the blocks view")


def nodes_view(circuit: Circuit, marks: Marks | None = None, digits: int = 2,
               max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES) -> graphviz.Digraph:
    """The circuit as a `graphviz.Digraph` (renders inline in Jupyter). `marks` (from a check
    report) draws the named nodes and edges in red with the violation as tooltip. Raises
    `TooLargeError` for circuits of more than `max_nodes` groups or `max_edges` edges."""
    check_size(circuit, "nodes", max_nodes, max_edges)
    marks = marks or Marks()
    graph = style.new_graph("nodes", ordering="out")
    for group in circuit.groups:
        attrs = style.node_attrs(group)
        attrs["tooltip"] = style.tooltip(circuit, group)
        marks.mark_node(group.id, attrs)
        graph.node(f"n{group.id}", **attrs)
    # leaves on one bottom rank; ids in order so the DOT text is stable
    with graph.subgraph(name="leaves") as leaves:
        leaves.attr(rank="sink")
        for group in circuit.groups:
            if group.kind == "input":
                leaves.node(f"n{group.id}")
    for group in circuit.groups:
        add_edges(graph, circuit, group.id, marks, digits)
    return graph


def add_edges(graph: graphviz.Digraph, circuit: Circuit, id: int, marks: Marks,
              digits: int) -> None:
    """The edges from group `id` to its children: weights on sum edges, marks where named."""
    group = circuit.groups[id]
    if isinstance(group, Sum):
        for child, weights in style.child_slices(group, circuit):
            attrs = {"label": style.weight_label(weights, digits),
                     "tooltip": style.weight_tooltip(id, child, weights)}
            marks.mark_edge(id, child, attrs)
            graph.edge(f"n{id}", f"n{child}", **attrs)
        return
    for child in group.children:
        attrs = {}
        marks.mark_edge(id, child, attrs)
        graph.edge(f"n{id}", f"n{child}", **attrs)
