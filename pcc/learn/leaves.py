"""EM for exponential-family inputs: expected sufficient statistics and the M-step, per family.

For the leaf units of one family, `resp` (rows, leaves) holds each row's posterior weight of each
unit (dLL / d log p_leaf(x), from autograd) and `x` (rows, leaves) the value of each unit's
variable, NaN where it is missing. The statistics are sum_n r_n T(x_n) and sum_n r_n. A missing
value contributes its *expected* statistic under the current parameters, E[T(x)], which is the
exact E-step for marginalized variables, and nothing is learned from the zeros a missing value is
stored as. A unit with no posterior mass on an observed value (its variable is missing in every
row that reaches it) keeps its parameters bit for bit (`keep_unobserved`).

`prior` is a pseudo-count: Bernoulli/categorical/binomial estimates are smoothed towards uniform
(Laplace), Gaussian variances are floored at `min_std`**2.
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]
OBSERVED = 1e-12  # posterior mass on observed values below which a unit keeps its parameters
EM_FAMILIES = ("bernoulli", "categorical", "binomial", "gaussian", "poisson")


def _filled(x: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """x with its missing entries replaced by the expected value of that unit."""
    return torch.where(torch.isnan(x), expected.expand_as(x), x)


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
    resp = resp.to(torch.float64)
    x = x.to(torch.float64)
    total = resp.sum(0)
    if family in ("bernoulli", "binomial", "poisson"):
        mean = {"bernoulli": lambda: params["p"],
                "binomial": lambda: params["n"] * params["p"],
                "poisson": lambda: params["rate"]}[family]().to(torch.float64)
        return (resp * _filled(x, mean)).sum(0)[:, None], total
    if family == "gaussian":
        mean = params["mean"].to(torch.float64)
        second = mean**2 + params["std"].to(torch.float64) ** 2
        missing = torch.isnan(x)
        t1 = torch.where(missing, mean.expand_as(x), x)
        t2 = torch.where(missing, second.expand_as(x), x * x)
        return torch.stack([(resp * t1).sum(0), (resp * t2).sum(0)], 1), total
    if family == "categorical":
        probs = params["probs"].to(torch.float64)  # (leaves, k)
        k = probs.shape[1]
        missing = torch.isnan(x)
        index = torch.where(missing, 0, x).long().clamp_(0, k - 1)
        # observed values add their responsibility to one count each (a scatter, not a
        # (rows, leaves, k) one-hot); missing ones add it spread by the current probabilities
        weight = resp.to(torch.float64)
        stats = torch.zeros_like(probs)
        stats.scatter_add_(1, index.T, torch.where(missing, 0.0, weight).T)
        stats += torch.where(missing, weight, 0.0).sum(0)[:, None] * probs
        return stats, total
    raise ValueError(f"EM has no M-step for {family} inputs; known: {', '.join(EM_FAMILIES)}")


def m_step(family: str, params: Params, stats: torch.Tensor, total: torch.Tensor,
           prior: float = 1e-2, min_std: float = 1e-3) -> Params:
    """New parameters from accumulated statistics; units with no posterior mass keep theirs."""
    alive = total > 1e-12
    out: Params = {}
    if family == "bernoulli":
        p = (stats[:, 0] + prior) / (total + 2 * prior)
        out["p"] = torch.where(alive, p, params["p"].to(p.dtype))
    elif family == "binomial":
        n = params["n"].to(torch.float64)
        p = (stats[:, 0] + prior) / (n * total + 2 * prior)
        out["p"] = torch.where(alive & (n > 0), p.clamp(0, 1), params["p"].to(p.dtype))
        out["n"] = params["n"]
    elif family == "poisson":
        rate = (stats[:, 0] + prior) / (total + prior)
        out["rate"] = torch.where(alive, rate, params["rate"].to(rate.dtype))
    elif family == "categorical":
        k = stats.shape[1]
        probs = (stats + prior) / (total[:, None] + k * prior)
        out["probs"] = torch.where(alive[:, None], probs, params["probs"].to(probs.dtype))
    elif family == "gaussian":
        safe = total.clamp_min(1e-300)
        mean = stats[:, 0] / safe
        var = (stats[:, 1] / safe - mean**2).clamp_min(min_std**2)
        out["mean"] = torch.where(alive, mean, params["mean"].to(mean.dtype))
        out["std"] = torch.where(alive, var.sqrt(), params["std"].to(var.dtype))
    else:
        raise ValueError(f"EM has no M-step for {family} inputs; known: {', '.join(EM_FAMILIES)}")
    return out


def interpolate(old: Params, new: Params, step: float) -> Params:
    """Online EM in expectation parameters: (1 - step) * old + step * new, per parameter.

    For the families here the mean parameters are p, probs, n * p, rate, and (mean, E[x^2]); the
    Gaussian is mixed in (mean, second moment) so that the result is a proper variance."""
    if step >= 1.0:
        return new
    def mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (1 - step) * a.to(b.dtype) + step * b

    if "std" in new:
        mean = mix(old["mean"], new["mean"])
        second = mix(old["mean"].to(torch.float64) ** 2 + old["std"].to(torch.float64) ** 2,
                     new["mean"] ** 2 + new["std"] ** 2)
        return {"mean": mean, "std": (second - mean**2).clamp_min(1e-12).sqrt()}
    return {name: (value if name == "n" else mix(old[name], value)) for name, value in new.items()}
