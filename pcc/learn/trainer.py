"""The training loop: EM (full-batch or online mini-batch) and Adam on the log-likelihood, with
validation-based early stopping, seeds, checkpoints and progress, for one process or the ranks
of a job.

`fit(model, train, valid, config, world)` trains a compiled circuit in place and returns the
history. Data are numpy (rows, variables) arrays with NaN for missing values. At the end the
parameters with the best validation log-likelihood (or the last ones without validation data)
are loaded. `world` (`pcc.learn.world`) says where the run executes; with the default one
process. With N ranks every update uses the whole batch, so the run makes the updates one
process makes (up to float rounding in the order of sums): EM sums its expected counts and
sufficient statistics over the ranks before each M-step (`EM.reduce`); Adam runs through the
world's wrapper (DistributedDataParallel), whose gradient all-reduce averages, so each rank
scales its loss by ranks / rows in the batch. Validation and the reported log-likelihoods are
summed over the ranks, so every rank takes the same early-stopping decision. Rank 0 alone
writes checkpoints and shows progress; a checkpoint resumes at the batch where it was written,
with any number of ranks.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pcc.ir.errors import DataError, PccError
from pcc.learn import checkpoint
from pcc.learn.config import History, TrainConfig
from pcc.learn.em import EM, FIXED_FAMILIES
from pcc.learn.leaves import EM_FAMILIES
from pcc.learn.init import INIT_FAMILIES, init_inputs_from_data
from pcc.learn.progress import Progress
from pcc.learn.world import LOCAL, Shard, World, as_table


@torch.no_grad()
def mean_log_likelihood(model: torch.nn.Module, data: np.ndarray | Shard,
                        batch_size: int = 1000, world: World = LOCAL) -> float:
    """Mean of log p(x) over the rows of `data`, evaluated in batches; in a distributed world
    each rank evaluates its block (or its `Shard`) and every rank gets the same mean."""
    shard = data if isinstance(data, Shard) else world.shard(data)
    dtype, device = _dtype(model), _device(model)
    total = 0.0
    for lo in range(0, len(shard.rows), batch_size):
        x = torch.as_tensor(shard.rows[lo:lo + batch_size], dtype=dtype, device=device)
        total += float(model(x).sum())
    sums = torch.tensor([total, len(shard.rows)], dtype=torch.float64, device=device)
    with world.collective("the all-reduce of log-likelihoods", "evaluation"):
        world.all_reduce_sum([sums])
    return float(sums[0] / sums[1].clamp_min(1))


def fit(model: torch.nn.Module, train: np.ndarray, valid: np.ndarray | None = None,
        config: TrainConfig = TrainConfig(), world: World = LOCAL) -> History:
    """Train `model` (a compiled circuit: forward(x) = log p(x)) on `train`; see the module doc.
    In a distributed world `model` must already be on this rank's device."""
    world.check_model(model)
    shard = world.shard(train)
    if shard.total == 0:
        raise DataError("no training rows")
    if len(shard.rows) == 0:
        raise DataError(f"rank {world.rank} of {world.size} has no training rows "
                        f"({shard.total} rows in all): use fewer ranks")
    held_out = None if valid is None else world.shard(valid)
    # inputs start from the statistics of all the rows given (rank 0's, when each rank was
    # given only its own), the same on every rank
    return _Run(model, world, config, shard, held_out, as_table(train)).fit()


class _Run:
    """One training run's state on this rank: what a checkpoint saves, plus the machinery."""

    def __init__(self, model: torch.nn.Module, world: World, config: TrainConfig,
                 train: Shard, valid: Shard | None, init_rows: np.ndarray):
        self.model, self.world, self.config = model, world, config
        self.train, self.valid, self.init_rows = train, valid, init_rows
        self.dtype, self.device = _dtype(model), _device(model)
        self.online = config.batch_size is not None
        # full batch runs in chunks (bounded memory) and updates once per epoch
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
        self.fixed = False  # full-batch EM's last update changed no parameter
        if config.method == "adam":
            self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        else:
            self.em = EM(model, prior=config.prior, reduce=self._reduce_statistics)
            _check_em_families(self.em)
        self._restore()
        self.wrapped = model
        if self.optimizer is not None:
            with world.collective("wrapping the model for gradient all-reduces", self.where):
                self.wrapped = world.wrap(model)

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> History:
        progress = Progress(self.config.progress and self.world.leader, self.config.epochs)
        try:
            if self.config.keep_start and self.epoch == 0 and self.step == 0:  # not resumed
                self._score_start(progress)
            while self.epoch < self.config.epochs:
                limit = self.config.time_limit
                if self.history.stopped_early or (limit is not None and
                                                  sum(self.history.seconds) >= limit):
                    break
                self._epoch(progress)
        finally:
            progress.close()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history

    def _score_start(self, progress: Progress) -> None:
        """Epoch 0: the initial model's scores; it is the best so far on validation data.
        Full-batch EM's first E-step computes the start's training LL anyway (`_epoch` takes
        it from there): a pass over the training data saved (msnbc.psdd: 12-26 s)."""
        began = time.perf_counter()
        size = self.config.eval_batch_size
        if self.em is None or self.online:
            self.history.start_train = mean_log_likelihood(self.model, self.train, size,
                                                           self.world)
        if self.valid is not None and self.valid.total > 0:
            score = mean_log_likelihood(self.model, self.valid, size, self.world)
            self.history.start_valid, self.best_valid = score, score
            self.best_state = copy.deepcopy(self.model.state_dict())
        self.history.start_seconds = time.perf_counter() - began
        if self.history.start_train is not None or self.history.start_valid is not None:
            progress.end_epoch(-1, self.history.start_train, self.history.start_valid,
                               self.history.start_seconds)

    def _epoch(self, progress: Progress) -> None:
        began = time.perf_counter() - self.elapsed
        self.rng.bit_generator.state = self.epoch_rng
        order = self.rng.permutation(self.train.total) if self.online else None
        steps = -(-self.train.total // self.chunk) if self.online else \
            -(-len(self.train.rows) // self.chunk)
        progress.start_epoch(self.epoch, steps, self.step)
        if self.optimizer is not None and not self.online:
            self.optimizer.zero_grad(set_to_none=True)
        seen = 0  # rows this rank evaluated in this epoch (for the progress estimate)
        for b in range(self.step, steps):
            self.where = f"epoch {self.epoch + 1}, batch {b + 1}"
            if order is not None:
                batch = order[b * self.chunk:(b + 1) * self.chunk]
                rows = self.train.pick(batch)
                self.ll_pending += self._online_step(rows, len(batch))
            else:
                rows = self.train.rows[b * self.chunk:(b + 1) * self.chunk]
                self.ll_pending += self._accumulate(rows, self.train.total, last=b == steps - 1)
            self.step, seen = b + 1, seen + len(rows)
            progress.batch(self.ll_pending / seen if self.world.size == 1 and seen else None)
            every = self.config.checkpoint_every
            if self.online and every and self.step % every == 0 and self.step < steps:
                self.elapsed = time.perf_counter() - began
                self._checkpoint()
        self.where = f"the end of epoch {self.epoch + 1}"
        if not self.online:
            if self.em is not None:
                before = [t.clone() for t in self.model.state_dict().values()] \
                    if self.config.tolerance is not None else None
                self.em.update(step=1.0)
                # a fixed point: the update left every parameter as it was (a deterministic
                # circuit's second epoch), so every later epoch would repeat it
                self.fixed = before is not None and all(
                    torch.equal(a, b) for a, b in zip(before, self.model.state_dict().values()))
            elif self.optimizer is not None:
                self.optimizer.step()
        self._sync_log_likelihood()
        self.history.train.append(self.ll_total / self.train.total)
        if self.config.keep_start and self.epoch == 0 and not self.online:
            self.history.start_train = self.history.train[0]  # the start's (E-step before update)
        seconds = torch.tensor([time.perf_counter() - began], dtype=torch.float64,
                               device=self.device)
        with self.world.collective("the broadcast of the epoch time", self.where):
            self.world.broadcast_tensors([seconds])  # rank 0's clock: one time limit for all
        self.history.seconds.append(float(seconds))
        self._validate()
        if self._converged():
            self.history.converged = self.history.stopped_early = True
        progress.end_epoch(self.epoch, self.history.train[-1],
                           self.history.valid[-1] if self.history.valid else None,
                           self.history.seconds[-1])
        self.epoch, self.step, self.epoch_rng = self.epoch + 1, 0, self.rng.bit_generator.state
        self.ll_total, self.elapsed = 0.0, 0.0
        self._checkpoint()

    def _online_step(self, rows: np.ndarray, batch_rows: int) -> float:
        """One update from a global batch of `batch_rows` rows, `rows` of them here."""
        if self.em is not None:
            ll = self._accumulate(rows, batch_rows, last=True)
            self.em.update(step=self.config.step_size * self.config.step_decay ** self.epoch)
            return ll
        assert self.optimizer is not None  # internal invariant: method is "adam"
        self.optimizer.zero_grad(set_to_none=True)
        ll = self._accumulate(rows, batch_rows, last=True)
        self.optimizer.step()
        return ll

    def _accumulate(self, rows: np.ndarray, batch_rows: int, last: bool) -> float:
        """EM statistics or the loss gradient of this rank's `rows` of a batch; `last` says
        whether the gradient all-reduce runs now (full batch: after the last chunk)."""
        weight = 1.0
        if len(rows) == 0:
            # every rank must take part in each collective: a rank with no rows in this batch
            # evaluates one row with weight 0 (the backend cannot run an empty batch backwards)
            rows, weight = self.train.rows[:1], 0.0
        x = torch.as_tensor(rows, dtype=self.dtype, device=self.device)
        if self.em is not None:
            ll = self.em.accumulate(x)
            if weight == 0.0:
                for t in self.em.statistics():
                    t.mul_(0.0)
            return ll * weight
        with self.world.collective("the gradient all-reduce", self.where), \
                self.world.gradient_sync(self.wrapped, last):
            ll_rows = self.wrapped(x)
            # the world averages gradients over ranks; the update must use the batch's mean
            (-ll_rows.sum() * (weight * self.world.size / batch_rows)).backward()
        return float(ll_rows.detach().sum()) * weight

    def _reduce_statistics(self, tensors: list[torch.Tensor]) -> None:
        with self.world.collective("the all-reduce of EM statistics", self.where):
            self.world.all_reduce_sum(tensors)

    def _sync_log_likelihood(self) -> None:
        """Add every rank's pending log-likelihood to the shared total."""
        pending = torch.tensor([self.ll_pending], dtype=torch.float64, device=self.device)
        with self.world.collective("the all-reduce of log-likelihoods", self.where):
            self.world.all_reduce_sum([pending])
        self.ll_total += float(pending)
        self.ll_pending = 0.0

    def _converged(self) -> bool:
        """Full-batch EM whose last update left the parameters as they were, or raised the
        training LL by less than `tolerance` (relative), has converged: on a deterministic
        circuit with complete data one update reaches the maximum-likelihood estimate, and
        the second finds nothing to change. (`history.train[e]` is the LL of epoch e's
        E-step, i.e. before its update.)"""
        train, tolerance = self.history.train, self.config.tolerance
        return (self.em is not None and not self.online and tolerance is not None and
                (self.fixed or len(train) >= 2 and
                 train[-1] - train[-2] <= tolerance * abs(train[-1])))

    def _validate(self) -> None:
        if self.valid is None or self.valid.total == 0:
            return
        score = mean_log_likelihood(self.model, self.valid, self.config.eval_batch_size,
                                    self.world)
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
            "world": self.world.size, "config": asdict(self.config)}, self.world)

    def _restore(self) -> None:
        """Resume from rank 0's checkpoint, or initialize the inputs from the data (unless
        `init="model"`) and start every rank from rank 0's parameters."""
        state = checkpoint.restore(self.path, self.world, self.train.total, asdict(self.config))
        if state is None:
            if self.config.init != "model":
                families = ("binomial",) if self.config.init == "auto" else INIT_FAMILIES
                init_inputs_from_data(self.model, self.init_rows, families,
                                      seed=self.config.seed)
            with self.world.collective("the broadcast of the initial parameters", self.where):
                self.world.broadcast_tensors(list(self.model.state_dict().values()))
            return
        self.model.load_state_dict(state["model"])
        if self.optimizer is not None and state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.history, self.best_state = state["history"], state["best_state"]
        self.best_valid, self.epoch, self.step = state["best_valid"], state["epoch"], state["step"]
        self.epoch_rng, self.elapsed = state["epoch_rng"], state["elapsed"]
        self.ll_total = state["ll_total"]  # already summed over all ranks
        self.where = f"epoch {self.epoch + 1}, batch {self.step + 1} (resumed)"


class TrainingError(PccError):
    """The model cannot be trained as asked (e.g. EM on inputs without an M-step)."""


def _check_em_families(em: EM) -> None:
    """Before any work: EM needs an M-step for every input family that has parameters."""
    families = em.access.input_families
    missing = sorted(set(families) - set(EM_FAMILIES) - set(FIXED_FAMILIES))
    if missing:
        count = sum(len(em.access.input_vars[i]) for i, f in enumerate(families) if f in missing)
        raise TrainingError(f"EM has no M-step for {', '.join(missing)} inputs ({count} units "
                            f"in this circuit; EM trains {', '.join(EM_FAMILIES)}); train with "
                            "Adam instead (--adam, method='adam')")


def _dtype(model: torch.nn.Module) -> torch.dtype:
    for p in model.parameters():
        return p.dtype if p.is_floating_point() else torch.float32
    return torch.float32


def _device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
