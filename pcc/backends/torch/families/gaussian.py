"""Gaussian in torch: mean and log std as free parameters, with a closed-form backward."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from pcc.backends.torch.families.base import (GRADIENT_ELEMENTS, Family, Params, Tensors,
                                              slices, write)


HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)  # the density's constant (the native leaves too)


class Gaussian(Family):
    name = "gaussian"
    trainable = True
    values_in_model_dtype = True

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.mean = nn.Parameter(torch.as_tensor(params["mean"], dtype=dtype))
        self.log_std = nn.Parameter(torch.as_tensor(np.log(params["std"]), dtype=dtype))

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        return _GaussianLogProb.apply(xs.to(self.dtype, copy=True), self.mean, self.log_std)

    def log_prob_owned(self, xs: torch.Tensor) -> torch.Tensor:
        return _GaussianLogProb.apply(xs.to(self.dtype), self.mean, self.log_std)

    def parameter_grads(self, grad: torch.Tensor, x: torch.Tensor, missing: torch.Tensor,
                        codes: torch.Tensor | None, k: int) -> list[torch.Tensor | None]:
        """In closed form (`_GaussianLogProb`'s), z made again a slice of rows at a time: no
        (rows, batch) tensor is kept from the forward pass or made whole here."""
        if codes is not None:
            return super().parameter_grads(grad, x, missing, codes, k)
        with torch.no_grad():
            mean, inv_std = self.mean.detach(), torch.exp(-self.log_std.detach())
            xt = x.t().to(self.dtype).contiguous()
            absent = missing.t().contiguous() if bool(missing.any()) else None
            grad_mean, grad_log_std = torch.empty_like(mean), torch.empty_like(mean)
            for rows in slices(len(self.var), x.shape[0], GRADIENT_ELEMENTS):
                var = self.var[rows]
                z = xt.index_select(0, var).sub_(mean[rows, None]).mul_(inv_std[rows, None])
                g = grad[rows] if absent is None else \
                    torch.where(absent.index_select(0, var), 0.0, grad[rows])
                gz = g * z
                grad_mean[rows] = gz.sum(1) * inv_std[rows]
                grad_log_std[rows] = gz.mul_(z).sum(1) - g.sum(1)
        return [g for p, g in ((self.mean, grad_mean), (self.log_std, grad_log_std))
                if p.requires_grad]

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"mean": self.mean.detach().double(), "std": torch.exp(self.log_std.double())}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        write(self.mean, params["mean"], units)
        write(self.log_std, params["std"].log(), units)

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        mean = p["mean"][rows]
        noise = torch.randn(len(rows), generator=gen, dtype=torch.float64, device=mean.device)
        return mean + p["std"][rows] * noise

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """T(x) = (x, x^2); a missing value counts (mean, mean^2 + std^2)."""
        resp, x = resp.to(torch.float64), x.to(torch.float64)
        mean = p["mean"].to(torch.float64)
        second = mean**2 + p["std"].to(torch.float64) ** 2
        missing = torch.isnan(x)
        t1 = torch.where(missing, mean.expand_as(x), x)
        t2 = torch.where(missing, second.expand_as(x), x * x)
        return torch.stack([(resp * t1).sum(0), (resp * t2).sum(0)], 1), resp.sum(0)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        """The weighted mean and variance, the variance floored at min_std**2."""
        alive = total > 1e-12
        safe = total.clamp_min(1e-300)
        mean = stats[:, 0] / safe
        var = (stats[:, 1] / safe - mean**2).clamp_min(min_std**2)
        return {"mean": torch.where(alive, mean, p["mean"].to(mean.dtype)),
                "std": torch.where(alive, var.sqrt(), p["std"].to(var.dtype))}

    @classmethod
    def interpolate(cls, old: Tensors, new: Tensors, step: float) -> Tensors:
        """Mixed in (mean, second moment), so that the result is a proper variance."""
        def mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (1 - step) * a.to(b.dtype) + step * b

        mean = mix(old["mean"], new["mean"])
        second = mix(old["mean"].to(torch.float64) ** 2 + old["std"].to(torch.float64) ** 2,
                     new["mean"] ** 2 + new["std"] ** 2)
        return {"mean": mean, "std": (second - mean**2).clamp_min(1e-12).sqrt()}


class _GaussianLogProb(torch.autograd.Function):
    """log N(x; mean, exp(log_std)) for (rows, batch) values, overwriting them, with
    closed-form gradients: d/dmean = z / std and d/dlog_std = z^2 - 1 with z = (x - mean) / std.
    Autograd through the formula kept four (rows, batch) tensors and reduced over the batch
    once per broadcast parameter (a RAT-SPN's Gaussian leaves took most of its backward)."""

    @staticmethod
    def forward(ctx, xs: torch.Tensor, mean: torch.Tensor,  # type: ignore[override]
                log_std: torch.Tensor) -> torch.Tensor:
        inv_std = torch.exp(-log_std)[:, None]
        z = xs.sub_(mean[:, None]).mul_(inv_std)
        out = torch.square(z).mul_(-0.5).sub_(log_std[:, None] + HALF_LOG_TWO_PI)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            ctx.save_for_backward(z, inv_std)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        z, inv_std = ctx.saved_tensors
        gz = grad * z
        grad_mean = gz.sum(1) * inv_std[:, 0]
        grad_log_std = gz.mul_(z).sum(1) - grad.sum(1)
        return None, grad_mean, grad_log_std
