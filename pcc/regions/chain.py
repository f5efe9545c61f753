"""A linear chain: {x_i, ..., x_n-1} = {x_i} * {x_i+1, ..., x_n-1}. With the CP parameterization
this is a hidden Markov model over the variables in `order`.

It needs nothing from the compiler beyond what every other region graph uses: new structures are
region graph generators only.
"""

from __future__ import annotations

from typing import Sequence

from pcc.regions.graph import RegionGraph, RegionGraphBuilder


def linear_chain(num_vars: int, order: Sequence[int] | None = None) -> RegionGraph:
    """The chain over `order` (default 0..num_vars-1), split off one variable at a time."""
    order = list(range(num_vars)) if order is None else [int(v) for v in order]
    if sorted(order) != list(range(num_vars)):
        raise ValueError(f"order must be a permutation of 0..{num_vars - 1}")
    b = RegionGraphBuilder(num_vars)
    # build from the tail so that children exist before their parents
    rest = b.region([order[-1]])
    for i in range(num_vars - 2, -1, -1):
        head = b.region([order[i]])
        region = b.region(order[i:])
        b.partition(region, (head, rest))
        rest = region
    return b.build()
