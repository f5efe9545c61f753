"""Random binary trees (RAT-SPN, Peharz et al. 2019): `repetitions` random balanced splits.

Each repetition shuffles the variables and halves them recursively, `depth` times (or until a
region holds one variable). The root is shared; every repetition gives the root one partition and
keeps its own sub-regions, even where a scope repeats, as RAT-SPNs do.
"""

from __future__ import annotations

import numpy as np

from pcc.regions.graph import RegionGraph, RegionGraphBuilder


def random_binary_trees(num_vars: int, depth: int, repetitions: int,
                        seed: int = 0) -> RegionGraph:
    """A RAT-SPN region graph; the same arguments always give the same graph."""
    if num_vars < 1 or depth < 0 or repetitions < 1:
        raise ValueError(f"need num_vars >= 1, depth >= 0, repetitions >= 1; got {num_vars}, "
                         f"{depth}, {repetitions}")
    rng = np.random.default_rng(seed)
    b = RegionGraphBuilder(num_vars)
    root = b.region(range(num_vars), share=False)
    if num_vars == 1 or depth == 0:
        return b.build()
    for _ in range(repetitions):
        order = rng.permutation(num_vars)
        _split(b, root, order, depth)
    return b.build()


def _split(b: RegionGraphBuilder, region: int, order: np.ndarray, depth: int) -> None:
    half = len(order) // 2
    children = []
    for part in (order[:half], order[half:]):
        child = b.region(part.tolist(), share=False)
        children.append(child)
        if depth > 1 and len(part) > 1:
            _split(b, child, part, depth - 1)
    b.partition(region, children)
