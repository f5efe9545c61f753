"""The region-graph view: regions as boxes labelled with their scope, partitions as small `×`
circles between a region and the sub-regions it splits into; the root on top, leaves at the bottom.
"""

from __future__ import annotations

import graphviz

from pcc.ir import vars_to_mask
from pcc.regions.graph import RegionGraph
from pcc.viz import style
from pcc.viz.nodes import TooLargeError

MAX_NODES = 600
"""Regions plus partitions drawn at most: `dot` takes 6 s on a 5x5 Poon-Domingos graph (225
regions, 600 partitions), 87 s on 6x6 (441, 1470)."""
SCOPE_LABEL = 24  # characters of a scope shown in a box; the tooltip has the rest

REGION_COLOURS = {"root": style.COLOURS["sum"], "inner": "#f2f2f2", "leaf": style.COLOURS["input"]}


def regions_view(graph: RegionGraph, max_nodes: int = MAX_NODES) -> graphviz.Digraph:
    """The region graph as a `graphviz.Digraph`; raises `TooLargeError` when it has more than
    `max_nodes` regions and partitions together."""
    if len(graph.regions) + len(graph.partitions) > max_nodes:
        raise TooLargeError(f"the region graph has {len(graph.regions)} regions and "
                            f"{len(graph.partitions)} partitions, more than the regions view "
                            f"draws ({max_nodes} together)")
    dot = style.new_graph("regions", ordering="out")
    for r in range(len(graph.regions)):
        scope = graph.regions[r]
        role = "root" if r == graph.root else "leaf" if graph.is_leaf(r) else "inner"
        text = _scope_label(scope)
        dot.node(f"r{r}", label=f"#{r}\\n{text}", shape="box", style="filled",
                 fillcolor=REGION_COLOURS[role],
                 tooltip=f"region #{r} ({role}), {len(scope)} variables\\n"
                         f"scope {style.scope_text(vars_to_mask(scope))}")
    for index, p in enumerate(graph.partitions):
        children = " * ".join(f"#{c}" for c in p.children)
        dot.node(f"p{index}", label=style.GLYPHS[("product", "hadamard")], shape="circle",
                 style="filled", fillcolor=style.COLOURS["product"], width="0.25",
                 fixedsize="true", fontsize="10",
                 tooltip=f"partition {index}: #{p.region} = {children}")
    with dot.subgraph(name="leaves") as leaves:
        leaves.attr(rank="sink")
        for r in graph.leaves:
            leaves.node(f"r{r}")
    for index, p in enumerate(graph.partitions):
        dot.edge(f"r{p.region}", f"p{index}")
        for c in p.children:
            dot.edge(f"p{index}", f"r{c}")
    return dot


def _scope_label(scope: tuple[int, ...]) -> str:
    text = style.scope_text(vars_to_mask(scope))
    if len(text) > SCOPE_LABEL:
        return f"{len(scope)} variables"
    return text
