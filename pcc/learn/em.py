"""EM for compiled circuits, as in EiNets (Peharz et al. 2020): expected counts from autograd.

For a sum weight w, the expected count over a batch is n = w * dLL/dw = dLL/d(log w); for an
input unit, the posterior weight of each row is r = dLL/d(log p_unit(x)). One backward pass of
the summed log-likelihood gives both (`accumulate`); `update` makes the M-step: weights
w = (n + prior) / sum(n + prior) per unit, inputs from their expected sufficient statistics
(`pcc.learn.leaves`). With `step < 1` it is online EM: new = (1 - step) old + step M-step.

The compiled module is reached through `pcc.learn.access.em_access(model)`, the one place that
knows how a backend lays out its parameters.
"""

from __future__ import annotations

import torch

from pcc.learn.access import EMAccess, em_access
from pcc.learn.leaves import (interpolate, keep_unobserved, m_step, observed_mass,
                              sufficient_statistics)


class EM:
    """Accumulates EM statistics over batches and applies M-steps to `model` in place."""

    def __init__(self, model: torch.nn.Module, prior: float = 1e-2, min_std: float = 1e-3):
        self.access: EMAccess = em_access(model)
        self.model = model
        self.prior = prior
        self.min_std = min_std
        self._reset()

    def _reset(self) -> None:
        self.counts: torch.Tensor | None = None
        self.stats: dict[str, tuple[torch.Tensor, ...]] = {}
        self.rows = 0

    def accumulate(self, x: torch.Tensor) -> float:
        """E-step on one batch (rows, variables; NaN = missing); returns the summed log-likelihood."""
        ll, log_w, inputs = self.access.forward_taps(x)
        taps = [log_w] + list(inputs.values())
        grads = torch.autograd.grad(ll.sum(), taps, allow_unused=True)
        counts = _or_zeros(grads[0], log_w).detach().to(torch.float64)
        self.counts = counts if self.counts is None else self.counts + counts
        for (family, out), grad in zip(inputs.items(), grads[1:]):
            resp = _or_zeros(grad, out).detach()
            values = x[:, self.access.input_vars[family]]
            params = self.access.input_params(family)
            stats = sufficient_statistics(family, params, values, resp) + \
                (observed_mass(values, resp),)
            old = self.stats.get(family)
            self.stats[family] = stats if old is None else tuple(a + b for a, b in zip(old, stats))
        self.rows += len(x)
        return float(ll.detach().sum())

    @torch.no_grad()
    def update(self, step: float = 1.0) -> None:
        """M-step from the statistics since the last update, then forget them."""
        if self.counts is None:
            return
        rows = self.access.weight_rows
        smoothed = self.counts + self.prior
        totals = torch.zeros(int(rows.max()) + 1 if len(rows) else 0, dtype=torch.float64,
                             device=smoothed.device).index_add_(0, rows, smoothed)
        new_w = smoothed / totals[rows]
        if step < 1.0:
            old_w = self.access.log_weights().to(torch.float64).exp()
            new_w = (1 - step) * old_w + step * new_w
        self.access.set_log_weights(new_w.log())
        for family, (stats, total, observed) in self.stats.items():
            old = self.access.input_params(family)
            new = m_step(family, old, stats, total, self.prior, self.min_std)
            new = keep_unobserved(old, interpolate(old, new, step), observed)
            self.access.set_input_params(family, new)
        self._reset()


def _or_zeros(grad: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if grad is None else grad
