"""Categorical in torch: one row of log-probabilities per unit, ragged widths padded (structural
zeros of the table, held at -inf)."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import Family, Params, Tensors, choose, ragged_build
from pcc.backends.torch.params import NEG_INF, LogTable


class Categorical(Family):
    name = "categorical"
    ragged = {"probs": 0.0}
    trainable = True
    size: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype, sizes: np.ndarray):
        super().__init__(var, dtype)
        self.sizes = sizes
        width = int(sizes.max())
        valid = np.arange(width)[None, :] < sizes[:, None]
        probs = np.zeros((len(sizes), width))
        probs[valid] = params["probs"]
        self.table = LogTable(probs, valid, dtype)
        self.register_buffer("size", torch.as_tensor(sizes, dtype=torch.float64), persistent=False)

    @classmethod
    def build(cls, groups: list, var: np.ndarray, dtype: torch.dtype) -> Family:
        flat, sizes = ragged_build(groups, "probs")
        return cls(var, flat, dtype, sizes)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        inside = (xs >= 0) & (xs < self.size[:, None])
        index = torch.where(inside, xs, 0.0).long()
        return torch.where(inside, self.table().gather(1, index), NEG_INF)

    def get_params(self) -> Tensors:
        with torch.no_grad():
            return {"probs": self.table().double().exp()}

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        self.table.write(params["probs"], units)

    def params(self, start: int, stop: int) -> Params:
        return {"probs": self.get_params()["probs"][start:stop, :int(self.sizes[start])]
                .cpu().numpy()}

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        return choose(torch.log(p["probs"][rows]), gen).double()

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        probs = p["probs"].to(torch.float64)  # (leaves, k)
        k = probs.shape[1]
        x = x.to(torch.float64)
        missing = torch.isnan(x)
        index = torch.where(missing, 0, x).long().clamp_(0, k - 1)
        # observed values add their responsibility to one count each (a scatter, not a
        # (rows, leaves, k) one-hot); missing ones add it spread by the current probabilities
        weight = resp.to(torch.float64)
        stats = torch.zeros_like(probs)
        stats.scatter_add_(1, index.T, torch.where(missing, 0.0, weight).T)
        stats += torch.where(missing, weight, 0.0).sum(0)[:, None] * probs
        return stats, weight.sum(0)

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        k = stats.shape[1]
        probs = (stats + prior) / (total[:, None] + k * prior)
        return {"probs": torch.where((total > 1e-12)[:, None], probs,
                                     p["probs"].to(probs.dtype))}
