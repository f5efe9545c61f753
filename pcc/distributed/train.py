"""Data-parallel training: the loop of `pcc.learn.fit` over ranks that each hold a shard.

    torchrun --nproc-per-node 2 my_script.py       # in my_script.py:
    history = fit(model, train, valid, TrainConfig(distributed=True, ...))     # or
    history = fit_distributed(model, train, valid, config, DistOptions(checkpoint_every=50))

Contract: with the same config, N ranks make the same updates as one process running `fit`
(up to float rounding in the order of sums): the same permutation of all rows per epoch, batch b
is the same rows, and each update uses the whole batch. EM sums its expected counts and
sufficient statistics over the ranks before each M-step (`EM.reduce`); Adam runs through
`DistributedDataParallel`, whose gradient all-reduce averages, so each rank scales its loss by
world / rows in the batch. Validation and the reported log-likelihoods are summed over ranks, so
every rank takes the same early-stopping decision. Rank 0 alone writes checkpoints and shows the
progress bar; a checkpoint resumes at the batch where it was written, with any number of ranks.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from pcc.distributed import checkpoint
from pcc.distributed.group import (DEFAULT_TIMEOUT, Group, all_reduce_sum, broadcast_tensors,
                                   collective, setup)
from pcc.distributed.shard import Shard, mean_log_likelihood
from pcc.ir.errors import DataError
from pcc.learn.em import EM
from pcc.learn.trainer import History, TrainConfig


@dataclass(frozen=True)
class DistOptions:
    """Options of distributed training that one process does not need."""

    timeout: float = DEFAULT_TIMEOUT      # seconds a collective waits for a silent rank
    checkpoint_every: int | None = None   # mini-batches: also checkpoint every N batches
    sharded: bool = False                 # train/valid given are this rank's rows only
    backend: str | None = None            # None: nccl with CUDA, else gloo

    def __post_init__(self) -> None:
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")


def fit_distributed(model: torch.nn.Module, train: np.ndarray, valid: np.ndarray | None = None,
                    config: TrainConfig = TrainConfig(),
                    options: DistOptions = DistOptions()) -> History:
    """`pcc.learn.fit` on every rank of the job (see the module doc); `model` must already be
    on this rank's device (`setup().device`). Raises `DistributedError` when a rank dies."""
    group = setup(options.backend, options.timeout)
    device = next(model.parameters()).device
    if device != group.device:
        raise ValueError(f"rank {group.rank} trains on {group.device}, the model is on {device};"
                         f" move it there first (model.to(setup().device))")
    shard = Shard.of(train, group, options.sharded)
    if len(shard.rows) == 0:
        raise DataError(f"rank {group.rank} of {group.world} has no training rows "
                        f"({shard.total} rows in all): use fewer ranks")
    held_out = None if valid is None else Shard.of(valid, group, options.sharded)
    return _Run(model, group, config, options, shard, held_out).fit()


class _Run:
    """One training run's state on this rank: what a checkpoint saves, plus the machinery."""

    def __init__(self, model: torch.nn.Module, group: Group, config: TrainConfig,
                 options: DistOptions, train: Shard, valid: Shard | None):
        self.model, self.group, self.config, self.options = model, group, config, options
        self.train, self.valid = train, valid
        self.dtype = next(model.parameters()).dtype
        self.online = config.batch_size is not None
        self.chunk = config.batch_size or config.eval_batch_size
        self.path = Path(config.checkpoint) if config.checkpoint else None
        self.rng = np.random.default_rng(config.seed)
        self.history, self.best_valid = History(), -np.inf
        self.best_state: dict[str, Any] | None = None
        # position: epoch, batches done in it, generator state before its permutation,
        # the epoch's summed log-likelihood (all ranks) and its seconds so far
        self.epoch, self.step, self.epoch_rng = 0, 0, self.rng.bit_generator.state
        self.ll_total, self.ll_pending, self.elapsed = 0.0, 0.0, 0.0
        self.where = "the start"
        torch.manual_seed(config.seed)
        self.optimizer: torch.optim.Optimizer | None = None
        self.em: EM | None = None
        if config.method == "adam":
            self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        else:
            self.em = EM(model, prior=config.prior, reduce=self._reduce_statistics)
        self._restore()
        self.ddp: DistributedDataParallel | None = None
        if self.optimizer is not None:
            with collective("wrapping the model in DistributedDataParallel", self.where,
                            group.timeout):
                self.ddp = _wrap(model, group)

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> History:
        from tqdm.auto import tqdm

        bar = tqdm(total=0, disable=not (self.config.progress and self.group.leader),
                   leave=False, dynamic_ncols=True, unit="batch")
        while self.epoch < self.config.epochs:
            limit = self.config.time_limit
            if self.history.stopped_early or (limit is not None and
                                              sum(self.history.seconds) >= limit):
                break
            self._epoch(bar)
        bar.close()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history

    def _epoch(self, bar: Any) -> None:
        began = time.perf_counter() - self.elapsed
        self.rng.bit_generator.state = self.epoch_rng
        order = self.rng.permutation(self.train.total) if self.online else None
        steps = -(-self.train.total // self.chunk) if self.online else \
            -(-len(self.train.rows) // self.chunk)
        bar.reset(total=steps)
        bar.update(self.step)
        bar.set_description(f"epoch {self.epoch + 1}/{self.config.epochs}")
        if self.optimizer is not None and not self.online:
            self.optimizer.zero_grad(set_to_none=True)
        for b in range(self.step, steps):
            self.where = f"epoch {self.epoch + 1}, batch {b + 1}"
            if order is not None:
                batch = order[b * self.chunk:(b + 1) * self.chunk]
                self.ll_pending += self._online_step(self.train.pick(batch), len(batch))
            else:
                rows = self.train.rows[b * self.chunk:(b + 1) * self.chunk]
                self.ll_pending += self._accumulate(rows, self.train.total, last=b == steps - 1)
            self.step = b + 1
            bar.update(1)
            every = self.options.checkpoint_every
            if self.online and every and self.step % every == 0 and self.step < steps:
                self.elapsed = time.perf_counter() - began
                self._checkpoint()
        self.where = f"the end of epoch {self.epoch + 1}"
        if not self.online:
            if self.em is not None:
                self.em.update(step=1.0)
            elif self.optimizer is not None:
                self.optimizer.step()
        self._sync_log_likelihood()
        self.history.train.append(self.ll_total / self.train.total)
        seconds = torch.tensor([time.perf_counter() - began], dtype=torch.float64,
                               device=self.group.device)
        with collective("the broadcast of the epoch time", self.where, self.group.timeout):
            broadcast_tensors([seconds])  # rank 0's clock: every rank sees the same time limit
        self.history.seconds.append(float(seconds))
        self._validate()
        self.epoch, self.step, self.epoch_rng = self.epoch + 1, 0, self.rng.bit_generator.state
        self.ll_total, self.elapsed = 0.0, 0.0
        bar.set_postfix(train=f"{self.history.train[-1]:.3f}",
                        valid=f"{self.history.valid[-1]:.3f}" if self.history.valid else "-")
        self._checkpoint()

    def _online_step(self, rows: np.ndarray, batch_rows: int) -> float:
        """One update from a global batch of `batch_rows` rows, `rows` of them here."""
        if self.em is not None:
            ll = self._accumulate(rows, batch_rows, last=True)
            step = self.config.step_size * self.config.step_decay ** self.epoch
            self.em.update(step=step)
            return ll
        assert self.optimizer is not None  # internal invariant: method is "adam"
        self.optimizer.zero_grad(set_to_none=True)
        ll = self._accumulate(rows, batch_rows, last=True)
        self.optimizer.step()
        return ll

    def _accumulate(self, rows: np.ndarray, batch_rows: int, last: bool) -> float:
        """EM statistics or the loss gradient of this rank's `rows` of a batch; `last` says
        whether DDP's gradient all-reduce runs now (full batch: after the last chunk)."""
        weight = 1.0
        if len(rows) == 0:
            # every rank must take part in each collective: a rank with no rows in this batch
            # evaluates one row with weight 0 (the backend cannot run an empty batch backwards)
            rows, weight = self.train.rows[:1], 0.0
        x = torch.as_tensor(rows, dtype=self.dtype, device=self.group.device)
        if self.em is not None:
            ll = self.em.accumulate(x)
            if weight == 0.0:
                for t in self.em.statistics():
                    t.mul_(0.0)
            return ll * weight
        assert self.ddp is not None  # internal invariant: method is "adam"
        sync = contextlib.nullcontext() if last else self.ddp.no_sync()
        with collective("the gradient all-reduce (DistributedDataParallel)", self.where,
                        self.group.timeout), sync:
            ll = self.ddp(x)
            # DDP averages gradients over ranks; the update must use the mean over the batch
            (-ll.sum() * (weight * self.group.world / batch_rows)).backward()
        return float(ll.detach().sum()) * weight

    def _reduce_statistics(self, tensors: list[torch.Tensor]) -> None:
        with collective("the all-reduce of EM statistics", self.where, self.group.timeout):
            all_reduce_sum(tensors)

    def _sync_log_likelihood(self) -> None:
        """Add every rank's pending log-likelihood to the shared total."""
        pending = torch.tensor([self.ll_pending], dtype=torch.float64, device=self.group.device)
        with collective("the all-reduce of log-likelihoods", self.where, self.group.timeout):
            all_reduce_sum([pending])
        self.ll_total += float(pending)
        self.ll_pending = 0.0

    def _validate(self) -> None:
        if self.valid is None or self.valid.total == 0:
            return
        score = mean_log_likelihood(self.model, self.valid, self.group,
                                    self.config.eval_batch_size)
        self.history.valid.append(score)
        if score > self.best_valid:
            self.best_valid, self.history.best_epoch = score, self.epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        elif self.config.patience is not None and \
                self.epoch - self.history.best_epoch >= self.config.patience:
            self.history.stopped_early = True

    # -- checkpoints ---------------------------------------------------------------------------
    def _checkpoint(self) -> None:
        if self.path is None:
            return
        self._sync_log_likelihood()  # rank 0 saves the epoch's total over all ranks so far
        checkpoint.save(self.path, {
            "model": self.model.state_dict(), "history": self.history,
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "best_state": self.best_state, "best_valid": self.best_valid,
            "epoch": self.epoch, "step": self.step, "epoch_rng": self.epoch_rng,
            "ll_total": self.ll_total, "elapsed": self.elapsed, "rows": self.train.total,
            "world": self.group.world, "config": asdict(self.config)}, self.group)

    def _restore(self) -> None:
        """Resume from rank 0's checkpoint, or start every rank from rank 0's parameters."""
        state = checkpoint.restore(self.path, self.group, self.train.total, asdict(self.config))
        if state is None:
            with collective("the broadcast of the initial parameters", self.where,
                            self.group.timeout):
                if self.group.world > 1:
                    broadcast_tensors(list(self.model.state_dict().values()))
            return
        self.model.load_state_dict(state["model"])
        if self.optimizer is not None and state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.history, self.best_state = state["history"], state["best_state"]
        self.best_valid, self.epoch, self.step = state["best_valid"], state["epoch"], state["step"]
        self.epoch_rng, self.elapsed = state["epoch_rng"], state["elapsed"]
        self.ll_total = state["ll_total"]  # already summed over all ranks
        self.where = f"epoch {self.epoch + 1}, batch {self.step + 1} (resumed)"



def _wrap(model: torch.nn.Module, group: Group) -> DistributedDataParallel:
    """DDP around `model` that never re-sends buffers: they are index arrays derived from the
    circuit, equal on every rank (the keyword for that changed in torch 2.13)."""
    keywords = inspect.signature(DistributedDataParallel).parameters
    name = "forward_sync_buffers" if "forward_sync_buffers" in keywords else "broadcast_buffers"
    quiet: dict[str, Any] = {name: False}
    return DistributedDataParallel(
        model, device_ids=[group.device] if group.device.type == "cuda" else None, **quiet)
