"""Binomial in torch: p as a two-column table (1 - p, p) of log-probabilities, n fixed."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import (Family, Params, Tensors, mean_statistics,
                                              two_class, write_two_class)
from pcc.backends.torch.params import NEG_INF


class Binomial(Family):
    name = "binomial"
    trainable = True
    init_from_data = True
    n: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.table = two_class(params["p"], dtype)
        self.register_buffer("n", torch.as_tensor(params["n"], dtype=torch.float64),
                             persistent=False)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        n = self.n[:, None]
        inside = (xs >= 0) & (xs <= n)
        k = torch.where(inside, xs, 0.0)
        choose = (torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)).to(self.dtype)
        lp = self.table()
        k, rest = k.to(self.dtype), (n - k).to(self.dtype)
        # 0 * log 0 = 0: p = 0 or 1 puts all the mass on k = 0 or k = n
        a = torch.where(k == 0, 0.0, k * lp[:, 1:])
        b = torch.where(rest == 0, 0.0, rest * lp[:, :1])
        return torch.where(inside, choose + a + b, NEG_INF)

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"n": self.n.double(), "p": self.table().double().exp()[:, 1]}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        write_two_class(self.table, params["p"], units)

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        return torch.binomial(p["n"][rows], p["p"][rows], generator=gen)

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        return mean_statistics(p["n"] * p["p"], x, resp)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        n = p["n"].to(torch.float64)
        q = (stats[:, 0] + prior) / (n * total + 2 * prior)
        return {"p": torch.where((total > 1e-12) & (n > 0), q.clamp(0, 1), p["p"].to(q.dtype)),
                "n": p["n"]}

    @staticmethod
    def trials(p: Tensors) -> torch.Tensor:
        return p["n"]
