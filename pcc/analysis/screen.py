"""Vectorized screens for the scope analyses: which sums may be non-smooth and which products
may be non-decomposable, from `Circuit.scope_bits` (one uint64 row per group) in a few
whole-array operations. The analyses then run their exact per-group check, which writes the
messages, on the suspects only, so a valid circuit of 10^5 groups costs numpy time.

The scope rows take groups x ceil(variables / 64) words; past `MAX_WORDS` of them (a huge
circuit over very many variables) every group is a suspect and the exact checks do it all.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from pcc.ir import Circuit
from pcc.ir.table import DENSE, INPUT, KRONECKER, bits_to_mask, concat_ranges, exclusive_cumsum

MAX_WORDS = 1 << 25  # 256 MiB of scope rows


def _fits(circuit: Circuit) -> bool:
    return len(circuit) * max(1, (circuit.num_vars + 63) // 64) <= MAX_WORDS


def unsmooth_suspects(circuit: Circuit) -> np.ndarray:
    """Ids of sums whose children's scopes differ (every sum when the screen does not fit)."""
    t = circuit.table
    sums = np.flatnonzero((t.code >= DENSE) & (t.nchild > 0))
    if not _fits(circuit):
        return sums
    bits, owner = circuit.scope_bits, t.owner
    edges = np.flatnonzero(t.code[owner] >= DENSE)
    first = t.child[t.ptr[owner[edges]]]
    differs = np.any(bits[t.child[edges]] != bits[first], axis=1)
    return np.unique(owner[edges[differs]])


def overlap_suspects(circuit: Circuit) -> np.ndarray:
    """Ids of products whose children share a variable (or list a child twice): the popcount
    of the union is less than the sum of the children's popcounts."""
    t = circuit.table
    products = np.flatnonzero((t.code > INPUT) & (t.code <= KRONECKER))
    if not _fits(circuit) or not len(products):
        return products
    bits, owner = circuit.scope_bits, t.owner
    counts = np.bitwise_count(bits).sum(axis=1, dtype=np.int64)
    total = np.bincount(owner, weights=counts[t.child], minlength=len(t)).astype(np.int64)
    nchild = t.nchild[products]
    products, nchild = products[nchild > 0], nchild[nchild > 0]
    edges = concat_ranges(t.ptr[products], nchild)
    union = np.bitwise_or.reduceat(bits[t.child[edges]], exclusive_cumsum(nchild), axis=0)
    union_count = np.bitwise_count(union).sum(axis=1, dtype=np.int64)
    return products[union_count < total[products]]


def masks_of(circuit: Circuit, children: tuple[int, ...]) -> Mapping[int, int]:
    """The scope masks (Python ints) of a few groups, from the scope rows when those exist."""
    if _fits(circuit):
        bits = circuit.scope_bits
        return {c: bits_to_mask(bits[c]) for c in children}
    masks = circuit.scope_masks
    return {c: masks[c] for c in children}
