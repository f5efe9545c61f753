"""Fan-in bucketing with a padding budget, and ragged-to-padded index helpers (all numpy).

The rule: sort the groups of one (depth, op) key by fan-in, largest first. A bucket starts at
the largest remaining fan-in W (its padded width) and takes the following groups as long as the
share of padded slots in the bucket, sum(rows * (W - f)) / sum(rows * W), stays within the
budget. Because the fan-ins are sorted, that share only grows as groups are added, so each
bucket is found with one cumulative sum and one binary search, and every block's padding share
is at most the budget. Equal fan-ins never split, so a regular layer is always one block.
"""

from __future__ import annotations

import numpy as np

from pcc.ir.table import concat_ranges, exclusive_cumsum

__all__ = ["buckets", "concat_ranges", "exclusive_cumsum", "pad_rows"]


def buckets(items: np.ndarray, fan_in: np.ndarray, rows: np.ndarray,
            budget: float) -> list[tuple[np.ndarray, int]]:
    """Split `items` into (items, padded width) buckets; padding share <= `budget` in each."""
    order = np.lexsort((items, -fan_in))          # by fan-in descending, then by id
    items, fan_in, rows = items[order], fan_in[order], rows[order]
    out: list[tuple[np.ndarray, int]] = []
    start = 0
    while start < len(items):
        width = int(fan_in[start])
        pads = np.cumsum(rows[start:] * (width - fan_in[start:]))
        slots = np.cumsum(rows[start:] * width)
        share = pads / np.maximum(slots, 1)
        take = max(1, int(np.searchsorted(share, budget + 1e-12, side="right")))
        out.append((items[start:start + take], width))
        start += take
    return out


def pad_rows(flat: np.ndarray, lengths: np.ndarray, width: int, fill: int) -> np.ndarray:
    """Ragged rows (concatenated in `flat`, row i has `lengths[i]` entries) as (rows, width)."""
    out = np.full((len(lengths), width), fill, dtype=np.int64)
    out[np.arange(width)[None, :] < lengths[:, None]] = flat
    return out
