"""The ranks of a `torchrun` job as a training `World` (`pcc.learn.world`): the one training
loop, `pcc.learn.fit`, runs on every rank with collectives from here.

    world = DistributedWorld(setup())                 # or fit_distributed(...), below
    history = fit(model.to(world.device), train, valid, TrainConfig(...), world)

Each rank keeps its block of the rows (or, `sharded=True`, the rows it was given are its
block, blocks in rank order); EM statistics and log-likelihoods are summed with one all-reduce
each, Adam runs through `DistributedDataParallel`, rank 0's checkpoint and initial parameters
are broadcast. Every collective runs under `collective(...)`, which turns a dead or silent peer
into one `DistributedError` naming this rank, the operation and the position in training.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from pcc.distributed.group import (DEFAULT_TIMEOUT, ProcessGroup, all_gather_sizes,
                                   all_reduce_sum, broadcast_object, broadcast_tensors,
                                   collective, setup)
from pcc.learn import History, TrainConfig, fit
from pcc.learn.world import Shard, World, as_table


class DistributedWorld(World):
    """This process as one rank of the job described by `group` (`setup()`)."""

    def __init__(self, group: ProcessGroup, sharded: bool = False):
        self.group, self.sharded = group, sharded
        self.rank, self.size, self.device = group.rank, group.world, group.device

    def check_model(self, model: torch.nn.Module) -> None:
        device = next(model.parameters()).device
        if device != self.group.device:
            raise ValueError(f"rank {self.rank} trains on {self.group.device}, the model is on "
                             f"{device}; move it there first (model.to(setup().device))")

    def shard(self, data: object) -> Shard:
        if not self.sharded:
            return super().shard(data)
        table = as_table(data)
        with self.collective("exchanging shard sizes", "the start"):
            sizes = all_gather_sizes(len(table), self.group.device)
        return Shard(table, sum(sizes[:self.rank]), sum(sizes))

    def collective(self, what: str, where: str) -> contextlib.AbstractContextManager[None]:
        return collective(what, where, self.group.timeout)

    def all_reduce_sum(self, tensors: list[torch.Tensor]) -> None:
        all_reduce_sum(tensors)

    def broadcast_tensors(self, tensors: list[torch.Tensor]) -> None:
        if self.size > 1:
            broadcast_tensors(tensors)

    def broadcast_object(self, obj: Any) -> Any:
        return broadcast_object(obj, self.group.device) if self.size > 1 else obj

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DDP around `model` that never re-sends buffers: they are index arrays derived from
        the circuit, equal on every rank (the keyword for that changed in torch 2.13)."""
        keywords = inspect.signature(DistributedDataParallel).parameters
        name = "forward_sync_buffers" if "forward_sync_buffers" in keywords \
            else "broadcast_buffers"
        quiet: dict[str, Any] = {name: False}
        device_ids = [self.group.device] if self.group.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, **quiet)

    @contextlib.contextmanager
    def gradient_sync(self, wrapped: torch.nn.Module, now: bool) -> Iterator[None]:
        if now or not isinstance(wrapped, DistributedDataParallel):
            yield
        else:
            with wrapped.no_sync():
                yield


@dataclass(frozen=True)
class DistOptions:
    """Options of distributed training that one process does not need."""

    timeout: float = DEFAULT_TIMEOUT      # seconds a collective waits for a silent rank
    sharded: bool = False                 # train/valid given are this rank's rows only
    backend: str | None = None            # None: nccl with CUDA, else gloo


def fit_distributed(model: torch.nn.Module, train: np.ndarray, valid: np.ndarray | None = None,
                    config: TrainConfig = TrainConfig(),
                    options: DistOptions = DistOptions()) -> History:
    """`pcc.learn.fit` on every rank of the job (joined here); `model` must already be on
    this rank's device (`setup().device`). Raises `DistributedError` when a rank dies."""
    world = DistributedWorld(setup(options.backend, options.timeout), options.sharded)
    return fit(model, train, valid, config, world)
