"""The leaf rows of the activation buffer: every input unit's log-value per example, written by
one of three ways per input block: a lookup in a value table (every variable of the block has a
finite domain), the native leaf kernel (`native_leaves`: CPU), or the family's
torch module. `CompiledCircuit.run` writes them for every pass and semiring.
"""

from __future__ import annotations

import numpy as np
import torch

import pcc.backends.native.leaves as native_leaves
from pcc.backends.native.library import SumKernel
from pcc.backends.torch.families import Family
from pcc.backends.torch.params import NEG_INF
from pcc.layering import NEG_INF_COLUMN


class LeafRows:
    """The input blocks' family modules in row order (the module owns them as parameters)."""

    def __init__(self, families: list[Family], sizes: list[int | None], dtype: torch.dtype):
        self.families, self.dtype = families, dtype
        # families whose variables all have finite domains are looked up in a value table
        # (with or without autograd); k is the largest domain size (column k means "missing")
        self.table_k = max([s for s in sizes if s is not None] or [0])
        self.tabled = [all(sizes[v] is not None for v in np.unique(f.var.cpu().numpy()))
                       for f in families]

    def variables(self) -> torch.Tensor:
        """The variable of every leaf row (leaf units,)."""
        return torch.cat([f.var for f in self.families])

    def column_vars(self) -> np.ndarray | None:
        """The variable of every leaf column, -1 for the constant columns before them; None
        unless every leaf is looked up by code (then sums of leaves can be too)."""
        if not all(self.tabled):
            return None
        return np.concatenate([[-1] * (NEG_INF_COLUMN + 1)] +
                              [f.var.cpu().numpy() for f in self.families])

    def codes(self, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor | None:
        """(vars, batch) int64: each value, or the largest domain size k where missing (the
        column of the value tables that holds log 1); None when no family is looked up."""
        if not any(self.tabled):
            return None
        return torch.where(missing, float(self.table_k), x).t().contiguous().long()

    def column_tables(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """(constant and leaf columns, k + 1): each column's value per code."""
        k = self.table_k
        constants = torch.tensor([[0.0] * (k + 1), [NEG_INF] * (k + 1)], dtype=dtype,
                                 device=device)
        return torch.cat([constants] + [f.value_table(k).to(dtype) for f in self.families])

    @torch.no_grad()
    def write(self, x: torch.Tensor, missing: torch.Tensor, out: torch.Tensor,
              codes: torch.Tensor | None = None, native: SumKernel | None = None) -> None:
        """Every input unit's log-value, (units, batch), into `out` (no autograd). `x` and
        `missing` are as `domains.prepare` returns them; `codes` as `codes` does, if known.
        With `native` (the native engine's library) its leaf kernels write what they can."""
        row = 0
        for family, values in zip(self.families, self._parts(x, missing, out, codes, native)):
            units = len(family.var)
            if values is not None:
                out[row:row + units] = values
            row += units

    def _parts(self, x: torch.Tensor, missing: torch.Tensor, out: torch.Tensor | None,
               codes: torch.Tensor | None = None, native: SumKernel | None = None
               ) -> list[torch.Tensor | None]:
        """Per input block its (units, batch) log-values; with `out`, the blocks written into
        it (by lookup or the native kernel) give None. Lookup tables serve every family whose
        variables all have finite domains, with or without autograd."""
        k = self.table_k
        codes = self.codes(x, missing) if codes is None else codes
        parts: list[torch.Tensor | None] = []
        row = 0
        data = native_leaves.LeafData(x, missing) if out is not None and native else None
        for family, tabled in zip(self.families, self.tabled):
            units = len(family.var)
            if not tabled:
                if out is not None and data is not None and native is not None and \
                        native_leaves.write(native, family, data, out[row:row + units]):
                    parts.append(None)  # written by the native kernel (CPU, no autograd)
                else:
                    parts.append(family(x, missing))
            elif out is not None:
                family.lookup(codes, k, out[row:row + units], native)  # type: ignore[arg-type]
                parts.append(None)
            else:
                parts.append(family.lookup(codes, k))  # type: ignore[arg-type]
            row += units
        return parts
