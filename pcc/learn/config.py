"""The options of a training run (`TrainConfig`) and what it reports (`History`)."""

from __future__ import annotations

from dataclasses import dataclass, field

METHODS = ("em", "adam")
INITS = ("auto", "data", "model")


@dataclass(frozen=True)
class TrainConfig:
    """Options of `pcc.learn.fit`. `batch_size=None` is full batch. EM with mini-batches is
    online EM: each batch moves the parameters `step_size` of the way to that batch's M-step."""

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
    checkpoint_every: int | None = None  # mini-batches: also checkpoint every N batches
    progress: bool = True
    eval_batch_size: int = 1000
    time_limit: float | None = None  # seconds: no new epoch starts once training took this long
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
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")


@dataclass
class History:
    """Mean log-likelihood per example after each epoch (train: during the epoch's updates)."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
