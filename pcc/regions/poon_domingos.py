"""Poon–Domingos region graphs for images (Poon & Domingos 2011; EiNets' PD structure).

Regions are axis-aligned boxes of an image of `shape`. Each `delta` gives a grid of cut points,
ceil(i * delta) for i = 1, 2, ... along every axis in `axes`. A box is split in two at every cut
point inside it of the first delta (in the order given, coarse to fine) that has one, along every
axis: several deltas give a multi-resolution graph whose coarse boxes are split further on the
finer grids. A box with no cut point inside, or one that lies `max_split_depth` splits below the
root, is a leaf. Boxes are shared by coordinates, so the
graph is a DAG. Variables are pixels numbered row-major over `shape` (axes not in `axes` are
never split: e.g. colour channels stay together).
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np

from pcc.regions.graph import RegionGraph, RegionGraphBuilder

Box = tuple[tuple[int, int], ...]


def poon_domingos(shape: Sequence[int], delta: float | Sequence[float],
                  max_split_depth: int | None = None,
                  axes: Sequence[int] = (0, 1)) -> RegionGraph:
    """The PD region graph of an image of `shape` cut on the grids of `delta` (coarse first)."""
    shape = tuple(int(s) for s in shape)
    deltas = [float(delta)] if isinstance(delta, (int, float)) else [float(d) for d in delta]
    axes = tuple(int(a) for a in axes)
    if not deltas or min(deltas) < 1:
        raise ValueError(f"deltas must be >= 1, got {deltas}")
    if any(not 0 <= a < len(shape) for a in axes):
        raise ValueError(f"axes {axes} do not fit an image of shape {shape}")
    # grids[level][axis]: the cut points of deltas[level] along that axis
    grids = [[[int(np.ceil(i * d)) for i in range(1, int(np.floor((shape[a] - 1) / d)) + 1)]
              if a in axes else [] for a in range(len(shape))] for d in deltas]
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
        level = next((g for g in grids
                      if any(box[a][0] < c < box[a][1] for a in axes for c in g[a])), None)
        for axis in axes if level is not None else ():
            lo, hi = box[axis]
            for cut in level[axis]:  # type: ignore[index]
                if lo < cut < hi:
                    left = box[:axis] + ((lo, cut),) + box[axis + 1:]
                    right = box[:axis] + ((cut, hi),) + box[axis + 1:]
                    splits.append((box, left, right))
                    for child in (left, right):
                        if child not in depth_of:
                            depth_of[child] = depth_of[box] + 1
                            queue.append(child)
    ids = {box: b.region(_vars(pixels, box).tolist()) for box in depth_of}
    for box, left, right in splits:
        b.partition(ids[box], (ids[left], ids[right]))
    return b.build()


def _vars(pixels: np.ndarray, box: Box) -> np.ndarray:
    return pixels[tuple(slice(lo, hi) for lo, hi in box)].ravel()
