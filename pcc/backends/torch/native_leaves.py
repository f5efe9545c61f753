"""Leaves written by the native kernel (`leaf_kernel.c`) straight into the activation buffer.

The CPU forward pass without autograd hands each input family's rows of the buffer to `write`;
Gaussian and histogram families (any breaks) are filled there in one pass per leaf row, the
others return False and are evaluated by their torch module. Torch's ops made several (rows,
batch) temporaries per family: at batch 10,000 on a learned Gaussian SPN (1,320 leaves) each
fresh 50 MiB one cost ~50 ms in page faults alone, and the time grew 30x for 10x the rows.
"""

from __future__ import annotations

import math
from functools import cached_property

import torch

from pcc.backends.torch.families import Family, Gaussian, Histogram
from pcc.backends.torch.native import SumKernel, kernel

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class LeafData:
    """The rows' values as the kernel reads them, made once per pass on first use (a pass of
    tabled leaves only never needs them): `xt`, (vars, batch) float64, and `missing`, the
    uint8 mask (None when nothing is missing)."""

    def __init__(self, x: torch.Tensor, missing: torch.Tensor):
        self._x, self._missing = x, missing

    @cached_property
    def xt(self) -> torch.Tensor:
        return self._x.t().contiguous()

    @cached_property
    def missing(self) -> torch.Tensor | None:
        if not bool(self._missing.any()):
            return None
        return self._missing.t().contiguous().to(torch.uint8)


def write(family: Family, data: LeafData, out: torch.Tensor) -> bool:
    """Fill `out` ((rows, batch) of the buffer) with the family's log-values and say True, or
    say False where the kernel does not evaluate this family (or is unavailable)."""
    native = kernel() if out.device.type == "cpu" and out.is_contiguous() else None
    if native is None:
        return False
    if isinstance(family, Gaussian):
        _gaussian(native, family, data, out)
        return True
    if isinstance(family, Histogram):
        _histogram(native, family, data, out)
        return True
    return False


def _gaussian(native: SumKernel, family: Gaussian, data: LeafData, out: torch.Tensor) -> None:
    mean = family.mean.detach().double().contiguous()
    log_std = family.log_std.detach().double()
    inv_std = torch.exp(-log_std).contiguous()
    offset = (-log_std - HALF_LOG_TWO_PI).contiguous()
    native.gaussian(mean, inv_std, offset, data.xt, data.missing, family.var, out)


def _histogram(native: SumKernel, family: Histogram, data: LeafData, out: torch.Tensor) -> None:
    log_density = family._log_density().detach().to(out.dtype).contiguous()
    if family.unit_bins:  # breaks b, b + 1, ...: the bin by floor, no search
        native.unit_bins(log_density, family.breaks[:, 0].contiguous(), family.bins, data.xt,
                         data.missing, family.var, out)
    else:
        native.search_bins(log_density, family.breaks, family.bins, data.xt, data.missing,
                           family.var, out)
