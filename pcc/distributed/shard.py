"""Which rows each rank holds, and how a global batch splits over the ranks.

The rows of a data set are numbered 0..total-1; rank r holds one contiguous block of them
(`shard_bounds`). Training draws its batches from one permutation of *all* row numbers, made by
the same seeded generator on every rank, so batch b is the same set of rows whatever the number
of ranks; each rank evaluates the rows of batch b that it holds (`Shard.pick`). Summing over the
ranks then gives exactly the statistics (EM) or gradient (Adam) that one process gets from the
whole batch, and a run's result does not depend on how many ranks computed it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from pcc.distributed.group import Group, all_gather_sizes, collective
from pcc.ir.errors import DataError


def shard_bounds(total: int, rank: int, world: int) -> tuple[int, int]:
    """[start, stop) of rank's block of `total` rows: sizes differ by at most one."""
    return total * rank // world, total * (rank + 1) // world


@dataclass(frozen=True)
class Shard:
    """This rank's rows of a data set: `rows[i]` is global row `start + i` of `total`."""

    rows: np.ndarray
    start: int
    total: int

    @staticmethod
    def of(data: np.ndarray, group: Group, sharded: bool = False) -> Shard:
        """This rank's shard of `data`: its block of the whole set, or, with `sharded=True`,
        `data` itself as this rank's block (blocks in rank order; sizes are exchanged)."""
        data = np.asarray(data)
        if data.ndim != 2:
            raise DataError(f"training data must be a (rows, variables) table, got shape "
                            f"{data.shape}")
        if not sharded:
            start, stop = shard_bounds(len(data), group.rank, group.world)
            return Shard(data[start:stop], start, len(data))
        with collective("exchanging shard sizes", "the start", group.timeout):
            sizes = all_gather_sizes(len(data), group.device)
        return Shard(data, sum(sizes[:group.rank]), sum(sizes))

    def pick(self, batch: np.ndarray) -> np.ndarray:
        """The rows of a global batch (row numbers) that this rank holds, in batch order."""
        mine = (batch >= self.start) & (batch < self.start + len(self.rows))
        return self.rows[batch[mine] - self.start]


@torch.no_grad()
def mean_log_likelihood(model: torch.nn.Module, shard: Shard, group: Group,
                        batch_size: int = 1000) -> float:
    """Mean log p(x) over all ranks' rows (every rank gets the same number)."""
    dtype = next(model.parameters()).dtype
    total = torch.zeros(2, dtype=torch.float64, device=group.device)
    for lo in range(0, len(shard.rows), batch_size):
        x = torch.as_tensor(shard.rows[lo:lo + batch_size], dtype=dtype, device=group.device)
        total[0] += model(x).sum().to(torch.float64)
    total[1] = len(shard.rows)
    with collective("the all-reduce of log-likelihoods", "evaluation", group.timeout):
        if group.world > 1:
            dist.all_reduce(total)
    return float(total[0] / total[1].clamp_min(1))
