"""Data for the torch backend: tensors checked against the variables' domains without a loop per
column, and variable masks."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from pcc.data.check import check_data
from pcc.ir import DataError, Domain


class DomainTable:
    """Per-variable domain facts as tensors: real or discrete, and the number of values."""

    def __init__(self, domains: Sequence[Domain]):
        self.domains = tuple(domains)
        self.real = torch.as_tensor([d.kind == "real" for d in domains], dtype=torch.bool)
        self.size = torch.as_tensor([float(d.size) if d.size is not None else np.inf
                                     for d in domains], dtype=torch.float64)

    def prepare(self, data: object, mask: object, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, missing): float64 (rows, vars) with missing entries set to 0, and the bool mask of
        entries to marginalize (NaN in `data`, or True in `mask`). Raises `DataError` naming the
        row, the column and the domain of the first bad value."""
        x = _as_tensor(data, self.domains).to(device=device, dtype=torch.float64)
        if x.ndim == 1 and x.shape[0] == len(self.domains):
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != len(self.domains):
            check_data(x.cpu().numpy(), self.domains)  # raises with the exact message
        missing = torch.isnan(x)
        filled = x.nan_to_num(0.0, posinf=np.inf, neginf=-np.inf)
        if filled.numel() and not self._within_domains(filled):
            check_data(x.cpu().numpy(), self.domains)
            raise DataError("data has values outside the variables' domains")  # not reached
        if mask is not None:
            m = torch.as_tensor(mask, dtype=torch.bool, device=device)
            if m.shape not in ((x.shape[1],), tuple(x.shape)):
                raise DataError(f"mask must have shape ({x.shape[1]},) or {tuple(x.shape)}, "
                                f"got {tuple(m.shape)}")
            missing = missing | m
            filled = torch.where(m, 0.0, filled)
        return filled, missing

    def _within_domains(self, filled: torch.Tensor) -> bool:
        """Every entry finite, and integral in 0..size-1 for discrete variables (few passes:
        per-column extremes, then whole numbers only where some variable is discrete)."""
        low, high = filled.amin(0), filled.amax(0)
        real, size = self.real.to(filled.device), self.size.to(filled.device)
        if not bool((torch.isfinite(low) & torch.isfinite(high) &
                     (real | ((low >= 0) & (high < size)))).all()):
            return False
        return bool(real.all()) or not bool(((filled != filled.floor()) & ~real).any())


def _as_tensor(data: object, domains: Sequence[Domain]) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    try:
        return torch.as_tensor(np.asarray(data, dtype=np.float64))
    except (TypeError, ValueError):
        check_data(data, domains)  # raises DataError "data must be a numeric matrix"
        raise DataError("data must be a numeric matrix") from None


def variable_mask(spec: object, rows: int, num_vars: int, device: torch.device) -> torch.Tensor:
    """A (rows, vars) bool mask from variable ids, a (vars,) or a (rows, vars) bool mask."""
    if isinstance(spec, torch.Tensor) and spec.dtype == torch.bool:
        m = spec.to(device)
    else:
        a = np.asarray(spec)
        if a.dtype == bool:
            m = torch.as_tensor(a, device=device)
        else:
            ids = a.astype(np.int64).ravel()
            if np.any((ids < 0) | (ids >= num_vars)):
                raise DataError(f"variable ids must lie in 0..{num_vars - 1}, got {ids.tolist()}")
            m = torch.zeros(num_vars, dtype=torch.bool, device=device)
            m[torch.as_tensor(ids, device=device)] = True
    if m.shape == (num_vars,):
        m = m.expand(rows, num_vars)
    if tuple(m.shape) != (rows, num_vars):
        raise DataError(f"a variable mask must have shape ({num_vars},) or ({rows}, {num_vars}), "
                        f"got {tuple(m.shape)}")
    return m
