"""Histogram in torch: bin masses are the table (log mass - log width = log density); breaks
are fixed. Ragged bin counts are padded: breaks with +inf (never <= x), masses with 0."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.families.base import (Family, Params, Tensors, choose, ragged_build,
                                              uniform)
from pcc.backends.torch.params import NEG_INF, LogTable


class Histogram(Family):
    name = "histogram"
    ragged = {"breaks": float("inf"), "densities": 0.0}
    breaks: torch.Tensor
    log_width: torch.Tensor
    bins: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype, sizes: np.ndarray):
        super().__init__(var, dtype)
        self.sizes = sizes                                   # bins per row
        width = int(sizes.max())
        valid = np.arange(width)[None, :] < sizes[:, None]
        breaks = np.full((len(sizes), width + 1), np.inf)    # +inf pads are never <= x
        breaks[np.arange(width + 1)[None, :] <= sizes[:, None]] = params["breaks"]
        widths = np.where(valid, np.diff(np.where(np.isfinite(breaks), breaks, 0.0), axis=1), 1.0)
        mass = np.zeros((len(sizes), width))
        mass[valid] = params["densities"]
        self.table = LogTable(mass * widths, valid, dtype)
        self.register_buffer("breaks", torch.as_tensor(breaks, dtype=torch.float64), persistent=False)
        self.register_buffer("log_width", torch.as_tensor(np.log(widths), dtype=dtype),
                             persistent=False)
        self.register_buffer("bins", torch.as_tensor(sizes, dtype=torch.long), persistent=False)
        # breaks b, b + 1, b + 2, ... from an integer b (SPFlow's histograms of discrete data):
        # the bin is floor(x) - b, exactly the last break <= x, without a search
        steps = np.arange(width + 1)[None, :]
        unit = np.where(steps <= sizes[:, None], breaks == breaks[:, :1] + steps, True)
        self.unit_bins = bool(unit.all() and np.all(breaks[:, 0] == np.floor(breaks[:, 0])))

    @classmethod
    def build(cls, groups: list, var: np.ndarray, dtype: torch.dtype) -> Family:
        flat, sizes = ragged_build(groups, "densities")
        return cls(var, flat, dtype, sizes)

    def _log_density(self) -> torch.Tensor:
        return self.table() - self.log_width

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        # the bin of x is the last break <= x (in float64, as the reference)
        if self.unit_bins:
            bin = (torch.floor(xs) - self.breaks[:, :1]).long()
        else:
            bin = torch.searchsorted(self.breaks, xs.contiguous(), right=True) - 1
        inside = (bin >= 0) & (bin < self.bins[:, None])
        log_density = self._log_density()
        last = log_density.shape[1] - 1
        return torch.where(inside, log_density.gather(1, bin.clamp(min=0, max=last)), NEG_INF)

    def get_params(self) -> Tensors:
        with torch.no_grad():
            density = torch.exp(self.table().double() - self.log_width.double())
        return {"breaks": self.breaks, "densities": density}

    def params(self, start: int, stop: int) -> Params:
        k = int(self.sizes[start])
        p = self.get_params()
        return {"breaks": p["breaks"][start:stop, :k + 1].cpu().numpy(),
                "densities": p["densities"][start:stop, :k].cpu().numpy()}

    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        """A bin drawn by mass, then a point inside it: uniform over the reals; over a discrete
        domain a uniformly drawn integer of [b_i, b_i+1) (each has the bin's density)."""
        breaks, density = p["breaks"][rows], p["densities"][rows]
        valid = torch.isfinite(breaks[:, 1:])
        low, high = breaks[:, :-1], breaks[:, 1:]
        first = torch.ceil(low)
        counts = torch.where(valid, (torch.ceil(high) - first).clamp(min=0), 0.0)
        widths = torch.where(valid, high - low, 0.0)
        disc = discrete[rows][:, None]
        bins = choose(torch.log(density * torch.where(disc, counts, widths)), gen)[:, None]
        u = uniform(len(rows), breaks, gen)
        integer = first.gather(1, bins)[:, 0] + torch.floor(u * counts.gather(1, bins)[:, 0])
        real = low.gather(1, bins)[:, 0] + u * widths.gather(1, bins)[:, 0]
        return torch.where(disc[:, 0], integer, real)
