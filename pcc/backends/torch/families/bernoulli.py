"""Bernoulli in torch: p as a two-column table (1 - p, p) of log-probabilities."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import (Family, Params, Tensors, mean_statistics,
                                              two_class, uniform, write_two_class)


class Bernoulli(Family):
    name = "bernoulli"
    trainable = True
    init_from_data = True

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.table = two_class(params["p"], dtype)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        lp = self.table()
        return torch.where(xs == 1, lp[:, 1:], lp[:, :1])

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"p": self.table().double().exp()[:, 1]}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        write_two_class(self.table, params["p"], units)

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        q = p["p"][rows]
        return (uniform(len(rows), q, gen) < q).double()

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        return mean_statistics(p["p"], x, resp)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        q = (stats[:, 0] + prior) / (total + 2 * prior)
        return {"p": torch.where(total > 1e-12, q, p["p"].to(q.dtype))}

    @staticmethod
    def trials(p: Tensors) -> torch.Tensor:
        return torch.ones_like(p["p"])
