"""Indicator in torch: 0 at its value, -inf elsewhere; nothing to train."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import Family, Params, Tensors
from pcc.backends.torch.params import NEG_INF


class Indicator(Family):
    name = "indicator"
    value: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.register_buffer("value", torch.as_tensor(params["value"], dtype=torch.float64),
                             persistent=False)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros((), dtype=self.dtype, device=xs.device)
        return torch.where(xs == self.value[:, None], zero, NEG_INF)

    def get_params(self) -> Tensors:
        return {"value": self.value}

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        return p["value"][rows]
