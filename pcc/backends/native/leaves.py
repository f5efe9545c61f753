"""Leaves written by the native kernel (`leaf_kernel.c`) straight into the activation buffer.

The CPU forward pass without autograd hands each input family's rows of the buffer to `write`;
Gaussian and histogram families (any breaks) are filled there in one pass per leaf row, the
others return False and are evaluated by their torch module. Torch's ops made several (rows,
batch) temporaries per family: at batch 10,000 on a learned Gaussian SPN (1,320 leaves) each
fresh 50 MiB one cost ~50 ms in page faults alone, and the time grew 30x for 10x the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from pcc.backends.torch.families import Family, Gaussian, Histogram
from pcc.backends.torch.families.gaussian import HALF_LOG_TWO_PI
from pcc.backends.native.library import SumKernel

MAX_UNIT_BINS = 4096  # a histogram of integer breaks wider than this keeps the search


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
        if not bool(self._missing.cpu().numpy().any()):  # numpy's any: 20x torch's
            return None
        return self._missing.t().contiguous().to(torch.uint8)


@dataclass(frozen=True)
class NativeLeaf:
    """A family's rows as the leaf kernel evaluates them: `kind` names the kernel ("gaussian",
    "unit_bins" or "search_bins") and `arrays` its parameter arrays (contiguous): Gaussian
    `mean`, `inv_std`, `offset` (float64); histogram `log_density` (the model's dtype), `bins`
    and `first` (unit breaks b, b + 1, ...) or `breaks` (float64, +inf pads)."""
    kind: str
    arrays: dict[str, torch.Tensor]


def evaluates(family: Family) -> bool:
    """Whether the leaf kernel evaluates this family."""
    return isinstance(family, (Gaussian, Histogram))


def native_leaf(family: Family, dtype: torch.dtype) -> NativeLeaf | None:
    """The kernel's view of the family's current parameters, or None where the leaf kernel
    does not evaluate this family."""
    with torch.no_grad():
        if isinstance(family, Gaussian):
            log_std = family.log_std.detach().double()
            return NativeLeaf("gaussian", {
                "mean": family.mean.detach().double().contiguous(),
                "inv_std": torch.exp(-log_std).contiguous(),
                "offset": (-log_std - HALF_LOG_TWO_PI).contiguous()})
        if isinstance(family, Histogram):
            log_density = family._log_density().detach().to(dtype)
            arrays = {"log_density": log_density.contiguous(), "bins": family.bins}
            if family.unit_bins:  # breaks b, b + 1, ...: the bin by floor, no search
                return NativeLeaf("unit_bins", {**arrays,
                                                "first": family.breaks[:, 0].contiguous()})
            unit = _as_unit_bins(family.breaks, family.bins, log_density)
            if unit is not None:
                return NativeLeaf("unit_bins", unit)
            return NativeLeaf("search_bins", {**arrays, "breaks": family.breaks})
    return None


def _as_unit_bins(breaks: torch.Tensor, bins: torch.Tensor, log_density: torch.Tensor
                  ) -> dict[str, torch.Tensor] | None:
    """Histograms whose breaks are all integers (spn-compiler's [0, 1, 2, 4, 74, 75], say) as
    bins [b, b + 1): for any x, the last break <= x is the last one <= floor(x), so each unit
    bin takes its histogram bin's density and no search is needed. None where a break is not
    an integer or the unit bins would exceed MAX_UNIT_BINS per row."""
    first = breaks[:, 0]
    last = breaks.gather(1, bins[:, None])[:, 0]
    finite = torch.isfinite(breaks)
    if not bool((torch.where(finite, breaks, 0.0) == torch.floor(torch.where(finite, breaks, 0.0))).all()):
        return None
    span = (last - first).long()
    width = int(span.max()) if len(span) else 0
    if width > MAX_UNIT_BINS:
        return None
    points = first[:, None] + torch.arange(width, dtype=torch.float64)[None, :]
    bin = torch.searchsorted(breaks, points.contiguous(), right=True) - 1
    inside = (bin >= 0) & (bin < bins[:, None])
    values = log_density.gather(1, bin.clamp(0, log_density.shape[1] - 1))
    density = torch.where(inside, values, float("-inf")).contiguous()
    return {"log_density": density, "bins": span, "first": first.contiguous()}


def write(native: SumKernel, family: Family, data: LeafData, out: torch.Tensor) -> bool:
    """Fill `out` ((rows, batch) of the buffer) with the family's log-values and say True, or
    say False where the kernel does not evaluate this family."""
    leaf = native_leaf(family, out.dtype) if out.is_contiguous() else None
    if leaf is None:
        return False
    a = leaf.arrays
    if leaf.kind == "gaussian":
        native.gaussian(a["mean"], a["inv_std"], a["offset"], data.xt, data.missing, family.var,
                        out)
    elif leaf.kind == "unit_bins":
        native.unit_bins(a["log_density"], a["first"], a["bins"], data.xt, data.missing,
                         family.var, out)
    else:
        native.search_bins(a["log_density"], a["breaks"], a["bins"], data.xt, data.missing,
                           family.var, out)
    return True
