"""Conversion between `Circuit` and `networkx.DiGraph` (edges point from parent to child)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pcc.ir.circuit import Circuit
from pcc.ir.domains import Domain
from pcc.ir.errors import InvalidCircuitError
from pcc.ir.groups import Group, Input, Product, Sum

if TYPE_CHECKING:  # networkx is imported on use: it costs a quarter second at start-up
    import networkx as nx


def to_networkx(circuit: Circuit) -> nx.MultiDiGraph:
    """One node per group (attributes: kind, units, and mode / family, var, params, weights);
    edge attribute `position` keeps the order of a group's children. A multigraph, because a
    group may list the same child twice."""
    import networkx as nx

    graph = nx.MultiDiGraph(domains=[str(d) for d in circuit.domains])
    for group in circuit.groups:
        attrs: dict[str, object] = {"kind": group.kind, "units": group.units, "origin": group.origin}
        if isinstance(group, Input):
            attrs.update(family=group.family, var=group.var, params=dict(group.params))
        else:
            attrs["mode"] = group.mode
            if isinstance(group, Sum):
                attrs["weights"] = group.weights
        graph.add_node(group.id, **attrs)
        for position, child in enumerate(group.children):
            graph.add_edge(group.id, child, position=position)
    return graph


def from_networkx(graph: nx.DiGraph | nx.MultiDiGraph) -> Circuit:
    """The circuit of a graph made by `to_networkx` (or built alike). Nodes keep their order when
    they are the integers 0..n-1 with children first; otherwise they are renumbered in a
    topological order. The single node without parents is the root."""
    import networkx as nx

    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        raise InvalidCircuitError([f"the graph has a cycle through nodes {[u for u, _ in cycle]}"])
    roots = [n for n in graph if graph.in_degree(n) == 0]
    if len(roots) != 1:
        raise InvalidCircuitError([f"a circuit has one root, the graph has {len(roots)}: "
                                   f"{roots[:10]}"])
    order = list(range(len(graph)))
    if set(graph.nodes) != set(order) or any(u <= v for u, v in graph.edges()):
        order = list(reversed(list(nx.topological_sort(graph))))
    new_id = {node: i for i, node in enumerate(order)}
    groups: list[Group] = []
    for node in order:
        a = graph.nodes[node]
        edges = sorted(graph.out_edges(node, data="position"), key=lambda e: e[2])
        children = tuple(new_id[child] for _, child, _ in edges)
        i = new_id[node]
        try:
            if a["kind"] == "input":
                groups.append(Input(i, a["units"], a["var"], a["family"], a["params"],
                                    a.get("origin")))
            elif a["kind"] == "product":
                groups.append(Product(i, a["units"], children, a["mode"], a.get("origin")))
            else:
                groups.append(Sum(i, a["units"], children, a["weights"], a["mode"],
                                  a.get("origin")))
        except KeyError as missing:
            raise InvalidCircuitError([f"graph node {node!r} lacks attribute {missing}"]) from None
    return Circuit(groups, [Domain.parse(d) for d in graph.graph["domains"]])
