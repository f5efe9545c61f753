"""Poisson in torch: log rate as the free parameter; a rate of 0 is structural (held by a mask)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pcc.backends.torch.families.base import Family, Params, Tensors, mean_statistics, write
from pcc.backends.torch.params import NEG_INF


class Poisson(Family):
    name = "poisson"
    trainable = True
    live: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        rate = params["rate"]
        self.log_rate = nn.Parameter(torch.as_tensor(np.log(np.where(rate > 0, rate, 1.0)),
                                                     dtype=dtype))
        self.register_buffer("live", torch.as_tensor(rate > 0), persistent=False)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        lr = torch.where(self.live, self.log_rate, NEG_INF)[:, None]
        k = xs.to(self.dtype)
        term = torch.where(k == 0, 0.0, k * lr)
        return term - torch.exp(lr) - torch.lgamma(xs + 1).to(self.dtype)

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"rate": torch.exp(torch.where(self.live, self.log_rate, NEG_INF).double())}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        # a rate of 0 stays 0 (the mask), so its stored log rate is never written
        write(self.log_rate, params["rate"].log(), units & self.live)

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        return torch.poisson(p["rate"][rows], generator=gen)

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        return mean_statistics(p["rate"], x, resp)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        rate = (stats[:, 0] + prior) / (total + prior)
        return {"rate": torch.where(total > 1e-12, rate, p["rate"].to(rate.dtype))}
