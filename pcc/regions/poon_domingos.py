"""Poon–Domingos region graphs for images (Poon & Domingos 2011; EiNets' PD structure).

Regions are axis-aligned boxes of an image of `shape`. A box is split in two at every cut point
inside it, along every axis in `axes`: cut points are the multiples of each `delta` (so several
deltas give a finer, multi-resolution set of cuts). A box with no cut point inside, or one that
lies `max_split_depth` splits below the root, is a leaf. Boxes are shared by coordinates, so the
graph is a DAG. Variables are pixels numbered row-major over `shape` (axes not in `axes` are
never split: e.g. colour channels stay together).
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np

from pcc.regions.graph import RegionGraph, RegionGraphBuilder

Box = tuple[tuple[int, int], ...]


def poon_domingos(shape: Sequence[int], delta: int | Sequence[int],
                  max_split_depth: int | None = None,
                  axes: Sequence[int] = (0, 1)) -> RegionGraph:
    """The PD region graph of an image of `shape` with cuts at multiples of each `delta`."""
    shape = tuple(int(s) for s in shape)
    deltas = [int(delta)] if np.isscalar(delta) else [int(d) for d in delta]  # type: ignore[arg-type]
    axes = tuple(int(a) for a in axes)
    if not deltas or min(deltas) < 1:
        raise ValueError(f"deltas must be >= 1, got {deltas}")
    if any(not 0 <= a < len(shape) for a in axes):
        raise ValueError(f"axes {axes} do not fit an image of shape {shape}")
    cuts = [sorted({c for d in deltas for c in range(d, shape[a], d)}) if a in axes else []
            for a in range(len(shape))]
    pixels = np.arange(int(np.prod(shape))).reshape(shape)
    b = RegionGraphBuilder(pixels.size)
    full: Box = tuple((0, s) for s in shape)
    depth_of = {full: 0}
    queue = deque([full])
    splits: list[tuple[Box, Box, Box]] = []
    while queue:  # breadth first: a box's depth is its shortest distance from the root
        box = queue.popleft()
        if max_split_depth is not None and depth_of[box] >= max_split_depth:
            continue
        for axis in axes:
            lo, hi = box[axis]
            for cut in cuts[axis]:
                if lo < cut < hi:
                    left = box[:axis] + ((lo, cut),) + box[axis + 1:]
                    right = box[:axis] + ((cut, hi),) + box[axis + 1:]
                    splits.append((box, left, right))
                    for child in (left, right):
                        if child not in depth_of:
                            depth_of[child] = depth_of[box] + 1
                            queue.append(child)
    ids = {box: b.region(_vars(pixels, box)) for box in depth_of}
    for box, left, right in splits:
        b.partition(ids[box], (ids[left], ids[right]))
    return b.build()


def _vars(pixels: np.ndarray, box: Box) -> np.ndarray:
    return pixels[tuple(slice(lo, hi) for lo, hi in box)].ravel()
