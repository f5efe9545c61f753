"""Quad-tree region graphs for images: halve a patch along height and width, recursively.

With `num_patch_splits=4` a patch is one 4-way partition into its quadrants (an n-ary
partition); with 2 it is split into top and bottom halves, and each half into left and right.
Patches are shared by coordinates. Splitting stops at single pixels; an axis of length one is not
split (a 1 x w strip is halved along its width only).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.regions.graph import RegionGraph, RegionGraphBuilder

Box = tuple[int, int, int, int]  # top, bottom, left, right (half-open)


def quad_tree(shape: Sequence[int], num_patch_splits: int = 2) -> RegionGraph:
    """The quad-tree region graph of an (height, width) image, pixels numbered row-major."""
    if num_patch_splits not in (2, 4):
        raise ValueError(f"num_patch_splits must be 2 or 4, got {num_patch_splits}")
    height, width = (int(s) for s in shape)
    pixels = np.arange(height * width).reshape(height, width)
    b = RegionGraphBuilder(pixels.size)
    ids: dict[Box, int] = {}

    def region(box: Box) -> int:
        if box not in ids:
            ids[box] = b.region(pixels[box[0]:box[1], box[2]:box[3]].ravel().tolist())
        return ids[box]

    def visit(box: Box) -> int:
        if box in ids:
            return ids[box]
        top, bottom, left, right = box
        rows = _halves(top, bottom)
        cols = _halves(left, right)
        if len(rows) == 1 and len(cols) == 1:
            return region(box)
        if len(rows) == 1 or len(cols) == 1 or num_patch_splits == 4:
            parts = [(r0, r1, c0, c1) for r0, r1 in rows for c0, c1 in cols]
            children = [visit(p) for p in parts]
        else:  # two binary steps: top/bottom halves, then left/right within each half
            children = []
            for r0, r1 in rows:
                halves = [visit((r0, r1, c0, c1)) for c0, c1 in cols]
                half = region((r0, r1, left, right))
                b.partition(half, halves)
                children.append(half)
        me = region(box)
        b.partition(me, children)
        return me

    visit((0, height, 0, width))
    return b.build()


def _halves(lo: int, hi: int) -> list[tuple[int, int]]:
    if hi - lo <= 1:
        return [(lo, hi)]
    mid = (lo + hi) // 2
    return [(lo, mid), (mid, hi)]
