"""Graphviz pictures of circuits, of their layered plans and of region graphs.

Every view returns a `graphviz.Digraph`, which renders inline in Jupyter; `write` saves one as
SVG, PNG, PDF (with the `dot` program) or DOT text. The same input always gives the same DOT.

    from pcc.viz import draw, write
    graph = draw(circuit, view="layers", check=True)   # red marks on what `pcc check` reports
    write(graph, "plan.svg")
"""

from __future__ import annotations

import warnings

import graphviz

from pcc.ir import Circuit
from pcc.viz.blocks import blocks_view
from pcc.viz.layers import layers_view
from pcc.viz.marks import Marks
from pcc.viz.nodes import MAX_EDGES, MAX_NODES, TooLargeError, nodes_view, oversize
from pcc.viz.regions import regions_view
from pcc.viz.render import VizError, dot_available, write
from pcc.viz.summary import summary_view

CIRCUIT_VIEWS = ("nodes", "layers", "blocks")
VIEWS = CIRCUIT_VIEWS + ("regions",)


def choose_view(circuit: Circuit, view: str | None, max_nodes: int = MAX_NODES,
                max_edges: int = MAX_EDGES) -> tuple[str, str | None]:
    """The form to draw (nodes, layers, layers_summary or blocks) and, when it differs from the
    view asked for, a sentence saying why. No view asked: nodes for small circuits, the layers
    summary (one row per depth, one box per block) otherwise. A node or layers view of a
    circuit above `max_nodes` groups or `max_edges` edges switches to the layers summary."""
    if view is not None and view not in CIRCUIT_VIEWS:
        raise VizError(f"unknown view {view!r} for a circuit; choose one of "
                       f"{', '.join(CIRCUIT_VIEWS)}")
    if view == "blocks":
        return "blocks", None
    reason = oversize(circuit, view or "nodes", max_nodes, max_edges)
    if reason is None:
        return view or "nodes", None
    if view is None:
        return "layers_summary", None
    return "layers_summary", f"{reason}; drawing one box per block in each layer instead"


def draw(circuit: Circuit, view: str | None = None, check: object = False, digits: int = 2,
         max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES,
         padding: float | None = None) -> graphviz.Digraph:
    """`circuit` in `view` (nodes, layers or blocks; default by size). `check` is True (run
    `pcc.analysis.check`), a `Report`, or False. `padding` is the layering's padding budget.
    A nodes or layers view too large to read switches to the layers summary with a warning."""
    chosen, note = choose_view(circuit, view, max_nodes, max_edges)
    if note:
        warnings.warn(note, stacklevel=2)
    marks = marks_for(circuit, check)
    if chosen == "nodes":
        return nodes_view(circuit, marks, digits=digits, max_nodes=max_nodes,
                          max_edges=max_edges)
    from pcc.layering import DEFAULT_PADDING, layer

    plan = layer(circuit, padding=DEFAULT_PADDING if padding is None else padding)
    if chosen == "layers":
        return layers_view(plan, marks, digits=digits, max_nodes=max_nodes,
                           max_edges=max_edges)
    if chosen == "layers_summary":
        return summary_view(plan, marks)
    return blocks_view(plan, marks)


def marks_for(circuit: Circuit, check: object) -> Marks:
    """Marks from a report, from running the checks (`check=True`), or none (`False`/`None`)."""
    if check is False or check is None:
        return Marks()
    if check is True:
        from pcc.analysis import check as run_check

        check = run_check(circuit, with_stats=False)
    return Marks.from_report(check)


__all__ = [
    "CIRCUIT_VIEWS", "MAX_EDGES", "MAX_NODES", "Marks", "TooLargeError", "VIEWS", "VizError",
    "blocks_view", "choose_view", "dot_available", "draw", "layers_view", "marks_for",
    "nodes_view", "regions_view", "summary_view", "write",
]
