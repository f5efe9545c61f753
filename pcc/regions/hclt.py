"""Hidden Chow–Liu trees (Liu & Van den Broeck, "Tractable Regularization of Probabilistic
Circuits", 2021): a Chow–Liu tree learned from data, turned into a region graph.

The Chow–Liu tree is the maximum spanning tree of the pairwise mutual information. Each tree node
x_i gets a hidden variable z_i that copies the tree. The region of a subtree rooted at x_i is
partitioned into {x_i} and the regions of its children's subtrees: with `sum_product="cp"` the
circuit's units of that region are the states of z_i and each child's dense sum is p(z_c | z_i),
which is the HCLT. The tree is rooted at its centre to keep the circuit shallow.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from pcc.ir.errors import DataError
from pcc.regions.graph import RegionGraph, RegionGraphBuilder


def mutual_information(data: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """(variables, variables) mutual information in nats of discrete data (rows, variables),
    with Laplace smoothing `alpha`; NaN entries are left out of every pair that has them."""
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2:
        raise DataError(f"data must be a 2-d (rows, variables) matrix, got shape {x.shape}")
    observed = ~np.isnan(x)
    values = np.where(observed, x, 0).astype(np.int64)
    if np.any(values < 0) or np.any(np.where(observed, x, 0) != values):
        raise DataError("the Chow–Liu tree needs discrete data (non-negative integers)")
    k = int(values.max()) + 1 if values.size else 1
    n, d = x.shape
    # one-hot (rows, d * k); missing entries are all-zero so they count in no joint cell
    onehot = np.zeros((n, d, k), dtype=np.float32)  # counts < 2**24 stay exact
    onehot[np.arange(n)[:, None], np.arange(d)[None, :], values] = observed
    flat = onehot.reshape(n, d * k)
    counts = (flat.T @ flat).astype(np.float64)
    joint = counts.reshape(d, k, d, k).transpose(0, 2, 1, 3) + alpha  # (d, d, k, k)
    joint /= joint.sum(axis=(2, 3), keepdims=True)
    left = joint.sum(axis=3, keepdims=True)
    right = joint.sum(axis=2, keepdims=True)
    mi = np.sum(joint * (np.log(joint) - np.log(left) - np.log(right)), axis=(2, 3))
    np.fill_diagonal(mi, 0.0)
    return mi


def chow_liu_tree(data: np.ndarray, alpha: float = 0.01) -> nx.Graph:
    """The maximum spanning tree of the pairwise mutual information (nodes are variables)."""
    mi = mutual_information(data, alpha)
    d = mi.shape[0]
    graph = nx.Graph()
    graph.add_nodes_from(range(d))
    rows, cols = np.triu_indices(d, 1)
    graph.add_weighted_edges_from(zip(rows.tolist(), cols.tolist(), mi[rows, cols].tolist()))
    return nx.maximum_spanning_tree(graph)


def tree_centre(tree: nx.Graph) -> int:
    """The middle node of a longest path (two breadth-first sweeps): a root of least height."""
    start = min(tree.nodes)
    far = max(nx.single_source_shortest_path_length(tree, start).items(), key=lambda t: t[1])[0]
    path = nx.single_source_shortest_path(tree, far)
    end = max(path, key=lambda node: len(path[node]))
    longest = path[end]
    return int(longest[len(longest) // 2])


def hclt(data: np.ndarray, alpha: float = 0.01, root: int | None = None) -> RegionGraph:
    """The HCLT region graph of `data`'s Chow–Liu tree, rooted at `root` (default: its centre)."""
    tree = chow_liu_tree(data, alpha)
    return tree_region_graph(tree, tree_centre(tree) if root is None else root)


def tree_region_graph(tree: nx.Graph, root: int) -> RegionGraph:
    """Regions of a rooted tree over variables 0..n-1: subtree(i) = {i} * subtree(c) * ..."""
    n = tree.number_of_nodes()
    b = RegionGraphBuilder(n)
    parent = dict(nx.bfs_predecessors(tree, root))
    children: dict[int, list[int]] = {v: [] for v in tree.nodes}
    for child, par in parent.items():
        children[par].append(child)
    subtree: dict[int, int] = {}
    scope: dict[int, list[int]] = {}
    for v in reversed([root] + [c for _, cs in nx.bfs_successors(tree, root) for c in cs]):
        leaf = b.region([v])
        if not children[v]:
            subtree[v], scope[v] = leaf, [v]
            continue
        scope[v] = [v] + [u for c in sorted(children[v]) for u in scope[c]]
        subtree[v] = b.region(scope[v], share=False)
        b.partition(subtree[v], [leaf] + [subtree[c] for c in sorted(children[v])])
    return b.build()
