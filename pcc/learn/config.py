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
    # the initial model is epoch 0 of early stopping: scored on the validation and training
    # data before the first update (full-batch EM: training LL from its first E-step), and what
    # fit returns when no epoch beats its validation LL (fine-tuning never ends worse on
    # validation data than it began)
    keep_start: bool = True
    # full-batch EM stops once an update raised the mean training LL by less than this share
    # of it (None: never): e.g. after the second epoch on a deterministic circuit, where the
    # first already reached the maximum-likelihood estimate (pcc.learn.mle)
    tolerance: float | None = 1e-9

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {self.batch_size}")
        if not 0 < self.step_size <= 1:
            raise ValueError(f"step_size must lie in (0, 1], got {self.step_size}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if not self.prior >= 0:
            raise ValueError(f"prior must be >= 0, got {self.prior}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"patience must be >= 0 or None, got {self.patience}")
        if self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        if self.tolerance is not None and not self.tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0 or None, got {self.tolerance}")
        if self.time_limit is not None and not self.time_limit >= 0:
            raise ValueError(f"time_limit must be >= 0 or None, got {self.time_limit}")


@dataclass
class History:
    """Mean log-likelihood per example after each epoch (train: during the epoch's updates);
    `best_epoch` indexes these lists (-1: no epoch beat the start, or no validation data).
    `start_train` / `start_valid` score the initial model (epoch 0; None when not scored)."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    converged: bool = False          # full-batch EM stopped by `TrainConfig.tolerance`
    start_train: float | None = None
    start_valid: float | None = None
    start_seconds: float = 0.0

    def rows(self) -> list[tuple[int, float, float | None, float]]:
        """(epoch, train LL, valid LL or None, seconds) per epoch, epoch 0 the start when it
        was scored: the rows of the history file (`pcc.learn.curve`)."""
        out: list[tuple[int, float, float | None, float]] = []
        if self.start_train is not None:
            out.append((0, self.start_train, self.start_valid, self.start_seconds))
        for e, (train, seconds) in enumerate(zip(self.train, self.seconds)):
            out.append((e + 1, train, self.valid[e] if e < len(self.valid) else None, seconds))
        return out
