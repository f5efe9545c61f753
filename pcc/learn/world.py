"""Where a training run executes: one process (`World`, the default) or the ranks of a
`torchrun` job (`pcc.distributed.DistributedWorld`, which overrides the collectives).

The training loop (`pcc.learn.trainer`) is written once against this interface. The rows of a
data set are numbered 0..total-1 and each rank holds one contiguous block of them (`Shard`; one
process holds them all). Training draws its batches from one permutation of *all* row numbers,
made by the same seeded generator on every rank, so batch b is the same set of rows whatever the
number of ranks; each rank evaluates the rows of batch b that it holds (`Shard.pick`) and the
world sums the statistics (EM) or gradients (Adam) over the ranks. The result of a run
therefore does not depend on how many ranks computed it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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

    def pick(self, batch: np.ndarray) -> np.ndarray:
        """The rows of a global batch (row numbers) that this rank holds, in batch order."""
        mine = (batch >= self.start) & (batch < self.start + len(self.rows))
        return self.rows[batch[mine] - self.start]


def as_table(data: object) -> np.ndarray:
    """`data` as a (rows, variables) array, or a DataError."""
    table = np.asarray(data)
    if table.ndim != 2:
        raise DataError(f"training data must be a (rows, variables) table, got shape "
                        f"{table.shape}")
    return table


class World:
    """One process: it holds every row, is its own leader, and every collective is the
    identity. `DistributedWorld` overrides what differs when there are several ranks."""

    rank = 0
    size = 1
    device: torch.device | None = None  # where the model must be (None: anywhere)

    @property
    def leader(self) -> bool:
        """Rank 0: the one that writes checkpoints and output files and shows progress."""
        return self.rank == 0

    def check_model(self, model: torch.nn.Module) -> None:
        """Raise when `model` cannot train in this world (e.g. on another rank's device)."""

    def shard(self, data: object) -> Shard:
        """This rank's block of `data` (the whole set for one process)."""
        table = as_table(data)
        start, stop = shard_bounds(len(table), self.rank, self.size)
        return Shard(table[start:stop], start, len(table))

    def collective(self, what: str, where: str) -> contextlib.AbstractContextManager[None]:
        """The block runs collectives (`what`, at position `where` of the run): a distributed
        world turns a failing peer into one error naming both."""
        return contextlib.nullcontext()

    def all_reduce_sum(self, tensors: list[torch.Tensor]) -> None:
        """Sum each tensor over all ranks, in place."""

    def broadcast_tensors(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite each tensor in place with rank 0's values."""

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank."""
        return obj

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module that Adam's forward and backward passes run through."""
        return model

    @contextlib.contextmanager
    def gradient_sync(self, wrapped: torch.nn.Module, now: bool) -> Iterator[None]:
        """Backward passes in the block sum gradients over the ranks only when `now` (full
        batch: after the last chunk); one process has nothing to sum."""
        yield


LOCAL = World()
