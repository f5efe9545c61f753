"""Trainable log-probability tables: exact zeros stay zero, normalized rows stay normalized."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

NORMALIZED_TOLERANCE = 1e-9
NEG_INF = float("-inf")


class LogTable(nn.Module):
    """A (rows, columns) table of log-values built from non-negative `values`.

    `theta` is the free parameter. Entries that are exactly zero, or padding (`valid` False),
    are structural: held at -inf by a mask, so no gradient step can revive them. A row whose
    values sum to one (within 1e-9) is *normalized*: it is read through a log-softmax over its
    live entries and stays a distribution while training. Other rows (an unnormalized circuit)
    are plain log-values.
    """

    live: torch.Tensor
    normalized: torch.Tensor

    def __init__(self, values: np.ndarray, valid: np.ndarray | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        values = np.asarray(values, dtype=np.float64)
        valid = np.ones(values.shape, dtype=bool) if valid is None else valid
        live = valid & (values > 0)
        with np.errstate(divide="ignore"):
            theta = np.where(live, np.log(np.where(live, values, 1.0)), 0.0)
        total = np.where(valid, values, 0.0).sum(axis=1)
        # stored transposed, (columns, rows): torch normalizes along a short last axis many
        # times slower than along the first one
        self.theta = nn.Parameter(torch.as_tensor(theta.T.copy(), dtype=dtype))
        self.register_buffer("live", torch.as_tensor(live.T.copy()), persistent=False)
        normalized = np.abs(total - 1.0) <= NORMALIZED_TOLERANCE
        self.register_buffer("normalized", torch.as_tensor(normalized), persistent=False)
        # plain flags, so that the common cases cost no device sync and no extra ops
        self.any_normalized = bool(normalized.any())
        self.all_normalized_live = bool(normalized.all() and live.all())

    def forward(self) -> torch.Tensor:
        """The (rows, columns) log-values (a transposed view); -inf at structural zeros and
        padding."""
        return self.read_rows(slice(None))

    def read_rows(self, rows: slice) -> torch.Tensor:
        """`forward()[rows]`, computed for those rows only (each row is read on its own):
        EM's M-step goes through a large table a slice of rows at a time."""
        theta, live = self.theta[:, rows], self.live[:, rows]
        if self.all_normalized_live:
            return torch.log_softmax(theta, dim=0).t()
        masked = torch.where(live, theta, NEG_INF)
        if not self.any_normalized:
            return masked.t()
        # a row with no live entry is never normalized; replace it so log_softmax has no NaN
        safe = torch.where(live.any(0, keepdim=True), masked, 0.0)
        return torch.where(self.normalized[rows][None, :], torch.log_softmax(safe, dim=0),
                           masked).t()

    @property
    def num_rows(self) -> int:
        return self.theta.shape[1]

    def values(self) -> np.ndarray:
        """The current table as float64 non-negative values (0 at structural zeros)."""
        with torch.no_grad():
            return torch.exp(self.forward().double()).cpu().numpy()

    def live_rows(self) -> torch.Tensor:
        """The live mask in the (rows, columns) orientation of `forward()`."""
        return self.live.t()

    @torch.no_grad()
    def assign(self, log_values: torch.Tensor, where: torch.Tensor) -> None:
        """Set theta so that `forward()` reads `log_values` (rows, columns) at `where`; the
        log-softmax of a normalized row leaves normalized log-values as they are."""
        self.assign_rows(slice(None), log_values, where)

    @torch.no_grad()
    def assign_rows(self, rows: slice, log_values: torch.Tensor, where: torch.Tensor) -> None:
        """`assign` for the table rows `rows` only (`log_values` and `where`: those rows)."""
        theta = self.theta[:, rows]
        theta.copy_(torch.where(where.t(), log_values.t().to(theta.dtype), theta))

    def write(self, values: torch.Tensor, units: torch.Tensor) -> None:
        """Set the live entries of the rows where `units` (bool) is True to log(values); a
        normalized row is renormalized over its live entries by the log-softmax (padding of
        ragged rows stays out); other rows are not touched at all."""
        logs = values.clamp_min(0).log().to(self.theta.dtype)
        # a live entry that EM drives to exactly zero stays live (a tiny value, not -inf)
        logs = torch.where(torch.isfinite(logs), logs, torch.finfo(logs.dtype).min / 2)
        self.assign(logs, self.live_rows() & units[:, None])


def safe_log(s: torch.Tensor) -> torch.Tensor:
    """log(s) for s >= 0 with log(0) = -inf and a zero (not NaN) gradient there."""
    positive = s > 0
    return torch.where(positive, torch.log(torch.where(positive, s, torch.ones_like(s))), NEG_INF)


def max_shift(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The max along `dim` (kept), detached, with 0 where it is -inf: log-sum-exp's shift.

    Detaching is exact: the result does not depend on the shift, only its rounding does.
    """
    m = x.detach().amax(dim, keepdim=True)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(x))) along `dim`; all -inf gives -inf with zero gradient (never NaN)."""
    m = max_shift(x, dim)
    return safe_log(torch.exp(x - m).sum(dim)) + m.squeeze(dim)


def vjp(outputs: torch.Tensor, inputs: Sequence[torch.Tensor], grad: torch.Tensor
        ) -> tuple[torch.Tensor | None, ...]:
    """The gradients of <grad, outputs> for `inputs` (None where one is unused), taken as the
    gradient of the scalar sum(outputs * grad): the same numbers as `torch.autograd.grad(outputs,
    inputs, grad)`, without its check of `grad`'s shape, which imports sympy on first use
    (about 12 MB resident for the rest of the process)."""
    return torch.autograd.grad(torch.sum(outputs * grad), inputs, allow_unused=True)
