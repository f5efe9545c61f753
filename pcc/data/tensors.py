"""Data for the torch backend: rows checked against the variables' domains in a few whole-array
passes (no loop per column), and variable masks.

Every query of a compiled circuit starts here, so on small batches this is part of each call's
fixed cost: host data (numpy arrays, lists, CPU tensors) are checked with numpy, whose
operations cost about a microsecond each, against bounds precomputed per table; only tensors
already on another device are checked there with torch. A failed check reruns the exact check
of `pcc.data.check.check_data`, whose DataError names the row, the column and the domain.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from pcc.data.check import check_data
from pcc.ir import DataError, Domain


class OutsideDomain(Exception):
    """A value outside its variable's domain, found by a check that cannot name it (the tiled
    pass's kernel): `DomainTable.explain` raises the `DataError` that does."""


class DomainTable:
    """Per-variable domain facts: open bounds `low < v < high` per column (discrete: -1 and the
    number of values, `count` unbounded above; real: -inf and inf, i.e. finite), and which
    columns must hold whole numbers."""

    def __init__(self, domains: Sequence[Domain]):
        self.domains = tuple(domains)
        discrete = np.array([d.discrete for d in domains], dtype=bool)
        self.low = np.where(discrete, -1.0, -np.inf)
        self.high = np.array([float(d.size) if d.size is not None else np.inf for d in domains])
        # the tightest bounds over all columns: data inside them fit every column at once
        self.floor = float(self.low.max(initial=-np.inf))
        self.ceiling = float(self.high.min(initial=np.inf))
        self.discrete_columns = np.flatnonzero(discrete)
        self.whole = discrete.astype(np.uint8)  # for the native check (tiled pass)
        self.all_discrete = bool(discrete.all())
        self.real = torch.as_tensor(~discrete, dtype=torch.bool)
        self.size = torch.as_tensor(self.high, dtype=torch.float64)

    def prepare(self, data: object, mask: object, device: torch.device, check: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, missing): float64 (rows, vars) with missing entries set to 0, and the bool mask of
        entries to marginalize (NaN in `data`, or True in `mask`). Raises `DataError` naming the
        row, the column and the domain of the first bad value; with `check` False the values
        are not checked against the domains (the caller does it: the tiled pass's kernel, then
        `explain`), only the shapes. `x` may share memory with `data` (when it is float64 and
        has no missing entries): read it, never write to it."""
        if isinstance(data, torch.Tensor) and data.device.type != "cpu":
            return self._prepare_on_device(data, mask, device)
        x, whole = _as_array(data, self.domains)
        if x.ndim == 1 and x.shape[0] == len(self.domains):
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != len(self.domains):
            check_data(x, self.domains)  # raises with the exact message
        top = x.max(initial=-np.inf)  # NaN when an entry is missing
        if np.isnan(top):
            missing = np.isnan(x)
            filled = np.where(missing, 0.0, x)
            top = filled.max(initial=-np.inf)
        else:
            missing, filled = np.zeros(x.shape, dtype=bool), x
        if check and filled.size and not self._fits(filled, top, whole):
            self.explain(x)
        if mask is not None:
            m = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask, dtype=bool)
            if m.shape not in ((x.shape[1],), x.shape):
                raise DataError(f"mask must have shape ({x.shape[1]},) or {tuple(x.shape)}, "
                                f"got {tuple(m.shape)}")
            missing = missing | m
            filled = np.where(m, 0.0, filled)
        return (torch.from_numpy(filled).to(device),
                torch.from_numpy(np.ascontiguousarray(missing)).to(device))

    def explain(self, x: np.ndarray, missing: np.ndarray | None = None) -> None:
        """Raise the `DataError` of `check_data` for rows in which a faster check found a value
        outside its domain: NaN marks a missing entry, or `missing` does (`prepare`'s x)."""
        check_data(x if missing is None else np.where(missing, np.nan, x), self.domains)
        raise DataError("data has values outside the variables' domains")  # not reached

    def _fits(self, x: np.ndarray, top: float, whole: bool) -> bool:
        """Every entry of `x` (NaN-free, largest entry `top`) inside its column's open bounds, and
        whole where the column is discrete (skipped when the data came as integers): whole-array
        extremes against the tightest bounds first, a broadcast comparison per column only
        when they do not settle it."""
        if not top < self.ceiling and (x >= self.high).any():
            return False
        if not x.min() > self.floor and (x <= self.low).any():
            return False
        if whole or not self.discrete_columns.size:
            return True
        d = x if self.all_discrete else x[:, self.discrete_columns]
        return bool(np.array_equal(d, np.floor(d)))

    def _prepare_on_device(self, data: torch.Tensor, mask: object, device: torch.device
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """`prepare` for a tensor on an accelerator: the same checks in torch ops there."""
        x = data.detach().to(device=device, dtype=torch.float64)
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


def _as_array(data: object, domains: Sequence[Domain]) -> tuple[np.ndarray, bool]:
    """(`data` as a C-ordered float64 array, whether it came as integers or booleans, so that
    every entry is a whole number)."""
    if isinstance(data, torch.Tensor):
        data = data.detach().numpy()
    try:
        raw = np.asarray(data)
        whole = raw.dtype.kind in "biu"
        return np.ascontiguousarray(raw, dtype=np.float64), whole
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
