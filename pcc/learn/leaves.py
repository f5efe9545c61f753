"""EM for exponential-family inputs: expected sufficient statistics and the M-step, per family.

For the leaf units of one family, `resp` (rows, leaves) holds each row's posterior weight of each
unit (dLL / d log p_leaf(x), from autograd) and `x` (rows, leaves) the value of each unit's
variable, NaN where it is missing. The statistics are sum_n r_n T(x_n) and sum_n r_n. A missing
value contributes its *expected* statistic under the current parameters, E[T(x)], which is the
exact E-step for marginalized variables, and nothing is learned from the zeros a missing value is
stored as. A unit with no posterior mass on an observed value (its variable is missing in every
row that reaches it) keeps its parameters bit for bit (`keep_unobserved`).

`prior` is a pseudo-count: Bernoulli/categorical/binomial estimates are smoothed towards uniform
(Laplace), Gaussian variances are floored at `min_std`**2. Each family's statistics, M-step and
online interpolation live with its torch module (`pcc.backends.torch.families`); this module
dispatches to them by name and holds what all families share.
"""

from __future__ import annotations

import torch

from pcc.backends.torch.families import LEAVES, Family, leaf_class

Params = dict[str, torch.Tensor]
OBSERVED = 1e-12  # posterior mass on observed values below which a unit keeps its parameters
EM_FAMILIES = tuple(name for name, cls in LEAVES.items() if cls.trainable)


def trainable(family: str) -> type[Family]:
    """The torch module class of `family`; a ValueError when EM cannot train it."""
    cls = leaf_class(family)
    if not cls.trainable:
        raise ValueError(f"EM has no M-step for {family} inputs; known: {', '.join(EM_FAMILIES)}")
    return cls


def observed_mass(x: torch.Tensor, resp: torch.Tensor) -> torch.Tensor:
    """sum_n r_n over the rows where each unit's variable is observed: (leaves,)."""
    return torch.where(torch.isnan(x), 0.0, resp.to(torch.float64)).sum(0)


def keep_unobserved(old: Params, new: Params, observed: torch.Tensor) -> Params:
    """`new`, except that units with no observed mass keep their `old` parameters exactly."""
    alive = observed > OBSERVED
    out = {}
    for name, value in new.items():
        mask = alive.reshape((-1,) + (1,) * (value.dim() - 1))
        out[name] = torch.where(mask, value, old[name].to(value.dtype))
    return out


def sufficient_statistics(family: str, params: Params, x: torch.Tensor,
                          resp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum_n r_n T(x_n) with shape (leaves, dim), sum_n r_n with shape (leaves,))."""
    return trainable(family).statistics(params, x, resp)


def m_step(family: str, params: Params, stats: torch.Tensor, total: torch.Tensor,
           prior: float = 1e-2, min_std: float = 1e-3) -> Params:
    """New parameters from accumulated statistics; units with no posterior mass keep theirs."""
    return trainable(family).m_step(params, stats, total, prior, min_std)


def interpolate(family: str, old: Params, new: Params, step: float) -> Params:
    """Online EM in expectation parameters: (1 - step) * old + step * new, per parameter.

    For the families here the mean parameters are p, probs, n * p, rate, and (mean, E[x^2]); the
    Gaussian is mixed in (mean, second moment) so that the result is a proper variance."""
    return new if step >= 1.0 else trainable(family).interpolate(old, new, step)
