"""Training loops: EM (full-batch or online mini-batch) and Adam on the log-likelihood, with
validation-based early stopping, seeds, checkpoints and a tqdm progress bar.

`fit(model, train, valid, config)` trains a compiled circuit in place and returns the history.
Data are numpy (rows, variables) arrays with NaN for missing values. At the end the parameters
with the best validation log-likelihood (or the last ones without validation data) are loaded.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pcc.learn.em import EM
from pcc.learn.init import INIT_FAMILIES, init_inputs_from_data

METHODS = ("em", "adam")
INITS = ("auto", "data", "model")


@dataclass(frozen=True)
class TrainConfig:
    """Options of `fit`. `batch_size=None` is full batch. EM with mini-batches is online EM:
    each batch moves the parameters `step_size` of the way to that batch's M-step."""

    method: str = "em"
    epochs: int = 10
    batch_size: int | None = 100
    step_size: float = 0.1          # online EM only; full-batch EM makes the whole M-step
    step_decay: float = 1.0         # online EM: the step size of epoch e is step_size * decay**e
    lr: float = 0.01                # Adam
    # EM pseudo-count for weights and leaf parameters, added at every M-step: with online EM
    # that is once per batch, so it must be small (baudio, HCLT K=32: 1e-2 cost 0.8 nats of
    # test log-likelihood against 1e-5; 0.1 cost 2.3)
    prior: float = 1e-5
    patience: int | None = 5        # epochs without a better validation LL before stopping
    seed: int = 0
    checkpoint: str | None = None   # file written after every epoch; resumed from if present
    progress: bool = True
    eval_batch_size: int = 1000
    time_limit: float | None = None  # seconds: no new epoch starts once training took this long
    distributed: bool = False       # one rank of a torchrun job (pcc.distributed.fit_distributed)
    # input units before the first epoch (pcc.learn.init): "data" starts binomial and bernoulli
    # units near their variable's mean, "auto" does so for binomial ones only (random p starve
    # all but one unit per variable there), "model" keeps the model's parameters
    init: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {self.batch_size}")
        if not 0 < self.step_size <= 1:
            raise ValueError(f"step_size must lie in (0, 1], got {self.step_size}")


@dataclass
class History:
    """Mean log-likelihood per example after each epoch (train: during the epoch's updates)."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False


@torch.no_grad()
def mean_log_likelihood(model: torch.nn.Module, data: np.ndarray, batch_size: int = 1000) -> float:
    """Mean of log p(x) over the rows of `data`, evaluated in batches."""
    total, dtype, device = 0.0, _dtype(model), _device(model)
    for start in range(0, len(data), batch_size):
        x = torch.as_tensor(data[start:start + batch_size], dtype=dtype, device=device)
        total += float(model(x).sum())
    return total / max(len(data), 1)


def fit(model: torch.nn.Module, train: np.ndarray, valid: np.ndarray | None = None,
        config: TrainConfig = TrainConfig()) -> History:
    """Train `model` (a compiled circuit: forward(x) = log p(x)) on `train`; see the module doc."""
    if config.distributed:
        # the same updates, computed by all ranks of the job, each on its shard of `train`
        from pcc.distributed import fit_distributed

        return fit_distributed(model, train, valid, config)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    history, start_epoch = History(), 0
    best_state: dict[str, torch.Tensor] | None = None
    best_valid = -np.inf
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr) \
        if config.method == "adam" else None
    em = EM(model, prior=config.prior) if config.method == "em" else None
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(saved["model"])
        if optimizer is not None and saved.get("optimizer"):
            optimizer.load_state_dict(saved["optimizer"])
        history, best_state, best_valid = saved["history"], saved["best_state"], saved["best_valid"]
        rng.bit_generator.state = saved["rng"]
        start_epoch = len(history.train)
    elif config.init != "model":  # a resumed run keeps its trained parameters
        families = ("binomial",) if config.init == "auto" else INIT_FAMILIES
        init_inputs_from_data(model, train, families, seed=config.seed)
    # full batch runs in chunks (bounded memory) and updates once per epoch
    online = config.batch_size is not None
    chunk = config.batch_size or config.eval_batch_size
    batches = len(range(0, len(train), chunk))
    bar = _progress(config, batches)
    for epoch in range(start_epoch, config.epochs):
        if history.stopped_early or (config.time_limit is not None and
                                     sum(history.seconds) >= config.time_limit):
            break
        began = time.perf_counter()
        order = rng.permutation(len(train)) if online else np.arange(len(train))
        bar.reset(total=batches)
        bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
        total = 0.0
        if optimizer is not None and not online:
            optimizer.zero_grad(set_to_none=True)
        for lo in range(0, len(train), chunk):
            x = torch.as_tensor(train[order[lo:lo + chunk]], dtype=_dtype(model),
                                device=_device(model))
            step = config.step_size * config.step_decay ** epoch
            total += _step(model, x, len(train), online, step, optimizer, em)
            bar.update(1)
            bar.set_postfix(train=f"{total / min(lo + chunk, len(train)):.3f}",
                            valid=f"{history.valid[-1]:.3f}" if history.valid else "-")
        if not online:
            if em is not None:
                em.update(step=1.0)
            elif optimizer is not None:
                optimizer.step()
        history.train.append(total / len(train))
        history.seconds.append(time.perf_counter() - began)
        if valid is not None and len(valid):
            score = mean_log_likelihood(model, valid, config.eval_batch_size)
            history.valid.append(score)
            if score > best_valid:
                best_valid, history.best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif config.patience is not None and epoch - history.best_epoch >= config.patience:
                history.stopped_early = True
        bar.set_postfix(train=f"{history.train[-1]:.3f}",
                        valid=f"{history.valid[-1]:.3f}" if history.valid else "-")
        if checkpoint is not None:
            _save(checkpoint, {"model": model.state_dict(), "history": history,
                               "best_state": best_state, "best_valid": best_valid,
                               "optimizer": optimizer.state_dict() if optimizer else None,
                               "rng": rng.bit_generator.state, "config": asdict(config)})
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _step(model: torch.nn.Module, x: torch.Tensor, rows: int, online: bool, step: float,
          optimizer: torch.optim.Optimizer | None, em: EM | None) -> float:
    """One chunk: EM statistics or the log-likelihood gradient; online training also updates."""
    if em is not None:
        ll_sum = em.accumulate(x)
        if online:
            em.update(step=step)
        return ll_sum
    assert optimizer is not None  # internal invariant: method is "adam"
    if online:
        optimizer.zero_grad(set_to_none=True)
    ll = model(x)
    # full batch: gradients of the mean over all rows accumulate over the chunks
    (-ll.sum() / (len(x) if online else rows)).backward()
    if online:
        optimizer.step()
    return float(ll.detach().sum())


def _progress(config: TrainConfig, batches: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=batches, disable=not config.progress, leave=False, dynamic_ncols=True,
                unit="batch")


def _save(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _dtype(model: torch.nn.Module) -> torch.dtype:
    for p in model.parameters():
        return p.dtype if p.is_floating_point() else torch.float32
    return torch.float32


def _device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
