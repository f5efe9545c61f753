"""Exponential in torch: log rate as the free parameter (any real: the rate stays > 0)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pcc.backends.torch.families.base import Family, Params, Tensors, mean_statistics, write
from pcc.backends.torch.params import NEG_INF


class Exponential(Family):
    name = "exponential"
    trainable = True
    values_in_model_dtype = True

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.log_rate = nn.Parameter(torch.as_tensor(np.log(params["rate"]), dtype=dtype))

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        x = xs.to(self.dtype)
        lr = self.log_rate[:, None]
        return torch.where(x >= 0, lr - torch.exp(lr) * x, NEG_INF)

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"rate": torch.exp(self.log_rate.double())}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        write(self.log_rate, params["rate"].log(), units)

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        rate = p["rate"][rows]
        return torch.empty_like(rate).exponential_(1.0, generator=gen) / rate

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """T(x) = x; a missing value counts its mean 1 / rate."""
        return mean_statistics(1.0 / p["rate"], x, resp)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        """rate = sum r / sum r x, with `prior` pseudo-observations at x = 1."""
        rate = (total + prior) / (stats[:, 0] + prior).clamp_min(1e-300)
        return {"rate": torch.where(total > 1e-12, rate, p["rate"].to(rate.dtype))}

    @classmethod
    def interpolate(cls, old: Tensors, new: Tensors, step: float) -> Tensors:
        """Mixed in the mean parameter E[x] = 1 / rate."""
        mean = (1 - step) / old["rate"].to(new["rate"].dtype) + step / new["rate"]
        return {"rate": 1.0 / mean}
