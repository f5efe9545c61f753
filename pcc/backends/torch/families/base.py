"""The torch side of an input family: one module evaluates every leaf unit of the family in one op.

A family's module is built from the stacked parameters of all input units of that family (rows =
units) and the variable each row reads. Each family (one file here, under the name of its spec
in `pcc.families`) owns:

- its table layout (`__init__`, `build`) and its log-density `log_prob(xs)` of (rows, batch)
  values: the leaf evaluation, matching the spec's `log_prob` (-inf off the support);
- `get_params()` / `set_params(params, units)`: its parameters as float64 tensors with a
  leading units axis (ragged axes padded), read and written for EM and data-based init, so
  that nothing outside this package reads the layout; `params(start, stop)` gives rows
  [start, stop) (one input group) back as the IR stores them;
- `draw(p, rows, discrete, gen)`: a draw from each listed row of `get_params()` output;
- for EM (`trainable`): `statistics`, `m_step`, `interpolate` (see `pcc.learn.leaves`).

`forward(x, missing)` is shared: the data as float64 (batch, vars) with missing entries
replaced by 0 in, (rows, batch) log-values in the module's dtype out, 0 where missing.
"""

from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np
import torch
from torch import nn

from pcc.backends.native.library import SumKernel
from pcc.backends.torch.params import LogTable, vjp
from pcc.families import family as spec

Params = dict[str, np.ndarray]
Tensors = dict[str, torch.Tensor]


class Family(nn.Module):
    """The torch module of one input family over the stacked units of its input groups."""

    name: ClassVar[str]
    # parameters with a ragged last axis (categorical probs, histogram bins) -> their padding
    ragged: ClassVar[dict[str, float]] = {}
    trainable: ClassVar[bool] = False      # EM has statistics and an M-step for it
    init_from_data: ClassVar[bool] = False  # `pcc.learn.init` can set p from the data's mean
    # a family whose density is computed in the model's dtype anyway reads its values in it
    # (half the memory traffic in float32); the others get the data's float64
    values_in_model_dtype = False
    var: torch.Tensor

    def __init__(self, var: np.ndarray, dtype: torch.dtype):
        super().__init__()
        self.dtype = dtype
        self.register_buffer("var", torch.tensor(var, dtype=torch.long), persistent=False)

    @classmethod
    def build(cls, groups: list, var: np.ndarray, dtype: torch.dtype) -> Family:
        """The module over the units of `groups` (in row order) reading variables `var`."""
        stacked = {k: np.concatenate([g.params[k] for g in groups]) for k in groups[0].params}
        make: Callable[..., Family] = cls  # a family's own __init__(var, params, dtype)
        return make(var, stacked, dtype)

    # -- evaluation ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        # select rows of the transposed data: (rows, batch) contiguous, so that every
        # elementwise op after it runs over contiguous memory (a transposed view made the
        # Gaussian leaves of a RAT-SPN 5x slower than its whole einsum network)
        xt = x.t().to(self.dtype) if self.values_in_model_dtype else x.t()
        out = self.log_prob_owned(xt.contiguous().index_select(0, self.var))  # (rows, batch)
        if not bool(missing.any()):
            return out
        return torch.where(missing.t().contiguous().index_select(0, self.var), 0.0, out)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        """(rows, batch) log p(xs[r, b] | unit r) in the module's dtype."""
        raise NotImplementedError

    def log_prob_owned(self, xs: torch.Tensor) -> torch.Tensor:
        """`log_prob` of a tensor the caller hands over: it may be overwritten."""
        return self.log_prob(xs)

    def value_table(self, k: int) -> torch.Tensor:
        """(rows, k + 1): log p(value j) for j < k, and 0 (missing) in column k. Only for
        families whose variables all have fewer than k values."""
        values = torch.arange(k + 1, dtype=torch.float64, device=self.var.device)
        out = self.log_prob(values.expand(len(self.var), k + 1).contiguous())
        out[:, k] = 0.0
        return out

    def lookup(self, codes: torch.Tensor, k: int, out: torch.Tensor | None = None,
               native: SumKernel | None = None) -> torch.Tensor:
        """The (rows, batch) log-values by table lookup, one gather instead of the family's
        arithmetic on every entry: `codes` (vars, batch) holds each value, or k where
        missing. With `out`, written there without autograd (by the `native` engine's kernel
        when given); otherwise differentiable in the family's parameters through the value
        table."""
        table = self.value_table(k).to(out.dtype if out is not None else self.dtype)
        if out is not None:
            _lookup_into(table, codes, self.var, out, native)
            return out
        return _TableLookup.apply(table, codes, self.var)

    def parameter_grads(self, grad: torch.Tensor, x: torch.Tensor, missing: torch.Tensor,
                        codes: torch.Tensor | None, k: int) -> list[torch.Tensor | None]:
        """The gradient of <grad, the (rows, batch) log-values> for each parameter in
        `self.parameters()` that requires grad, in that order (None: it has none): the
        log-values of `lookup(codes, k)` when `codes` is given, else of `forward(x,
        missing)`. A lookup's gradient goes through the value table alone; other families
        are evaluated again under autograd (`Gaussian` has a closed form)."""
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:
            return []
        with torch.enable_grad():
            if codes is None:
                return list(vjp(self(x, missing), params, grad))
            table = self.value_table(k).to(self.dtype)
            grad_table = _table_gradient(codes, self.var, grad, table.shape)
            return list(vjp(table, params, grad_table))

    # -- parameters ------------------------------------------------------------------------------
    def get_params(self) -> Tensors:
        """The current parameters, float64 (rows, ...) tensors on the module's device, ragged
        axes padded with `ragged`'s values; no autograd. They may share memory with the
        module's own tensors: read them, do not write into them."""
        raise NotImplementedError

    def set_params(self, params: Tensors, units: torch.Tensor) -> None:
        """Write the parameters (as `get_params` gives them) of the rows where `units` (bool) is
        True; the other rows' stored values are not touched at all."""
        raise ValueError(f"EM cannot train {self.name} inputs")

    def params(self, start: int, stop: int) -> Params:
        """Rows [start, stop) (one input group) as the IR stores them."""
        integer = spec(self.name).integer_params
        return {k: (v[start:stop].cpu().numpy().astype(np.int64) if k in integer
                    else v[start:stop].cpu().numpy())
                for k, v in self.get_params().items()}

    # -- sampling and EM (functions of `get_params()` tensors) -------------------------------
    @staticmethod
    def draw(p: Tensors, rows: torch.Tensor, discrete: torch.Tensor,
             gen: torch.Generator | None) -> torch.Tensor:
        """One float64 draw from each row listed in `rows` (a long tensor); `discrete` (rows,)
        says whether each row's variable is discrete."""
        raise NotImplementedError

    @classmethod
    def statistics(cls, p: Tensors, x: torch.Tensor, resp: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum_n r_n T(x_n) with shape (leaves, dim), sum_n r_n with shape (leaves,)) for
        `x`, `resp` (rows, leaves), x NaN where missing (its expected statistic counts)."""
        raise ValueError(f"EM has no M-step for {cls.name} inputs")

    @classmethod
    def m_step(cls, p: Tensors, stats: torch.Tensor, total: torch.Tensor, prior: float,
               min_std: float) -> Tensors:
        """New parameters from accumulated statistics; units with no posterior mass keep theirs."""
        raise ValueError(f"EM has no M-step for {cls.name} inputs")

    @classmethod
    def interpolate(cls, old: Tensors, new: Tensors, step: float) -> Tensors:
        """Online EM: (1 - step) old + step new in the family's mean parameters; integer
        parameters are kept. This default serves families whose parameters are their mean
        parameters (p, probs, rate)."""
        integer = spec(cls.name).integer_params
        return {k: v if k in integer else (1 - step) * old[k].to(v.dtype) + step * v
                for k, v in new.items()}

    @staticmethod
    def trials(p: Tensors) -> torch.Tensor:
        """Per unit, the n that p is a success rate over (only where `init_from_data`)."""
        raise NotImplementedError


def uniform(n: int, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=gen, dtype=torch.float64, device=like.device)


def choose(log_weights: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One index per row of (n, F) log-weights, drawn in proportion to exp(log weight).

    Inverse CDF in float64 after subtracting each row's max; -inf weights are never drawn.
    """
    lw = log_weights.double()
    peak = lw.amax(dim=1, keepdim=True)
    cumulative = torch.cumsum(torch.exp(lw - torch.where(torch.isfinite(peak), peak, 0.0)), 1)
    u = uniform(len(lw), lw, gen) * cumulative[:, -1]
    return (cumulative <= u[:, None]).sum(dim=1).clamp(max=lw.shape[1] - 1)


def ragged_build(groups: list, key: str) -> tuple[Params, np.ndarray]:
    """Every parameter of `groups` raveled and concatenated, and the width of `key`'s last axis
    per row: the input of a family with ragged parameters."""
    sizes = np.repeat([g.params[key].shape[1] for g in groups], [g.units for g in groups])
    flat = {k: np.concatenate([g.params[k].ravel() for g in groups]) for k in groups[0].params}
    return flat, sizes


def two_class(p: np.ndarray, dtype: torch.dtype) -> LogTable:
    """A (rows, 2) table of 1 - p, p: Bernoulli and binomial success probabilities."""
    return LogTable(np.stack([1.0 - p, p], axis=1), dtype=dtype)


def write_two_class(table: LogTable, p: torch.Tensor, units: torch.Tensor) -> None:
    """Set the success probabilities p of a `two_class` table's rows where `units` is True."""
    table.write(torch.stack([1 - p, p], 1), units)


def filled(x: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """x with its missing entries replaced by the expected value of that unit."""
    return torch.where(torch.isnan(x), expected.expand_as(x), x)


def mean_statistics(mean: torch.Tensor, x: torch.Tensor, resp: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The statistics of a family whose sufficient statistic is x itself (E[x] = `mean`)."""
    resp = resp.to(torch.float64)
    return (resp * filled(x.to(torch.float64), mean.to(torch.float64))).sum(0)[:, None], resp.sum(0)


def write(param: torch.Tensor, values: torch.Tensor, units: torch.Tensor) -> None:
    """param[units] = values[units], in place, without autograd."""
    with torch.no_grad():
        param.copy_(torch.where(units, values.to(param.dtype), param))


LOOKUP_ELEMENTS = 1 << 22  # (rows x batch) index entries per slice: 32 MiB of int64
GRADIENT_ELEMENTS = 1 << 18  # (rows x batch) entries of a leaf backward's work arrays per slice


def slices(rows: int, batch: int, elements: int = LOOKUP_ELEMENTS) -> list[slice]:
    """Slices of `rows` whose (rows, batch) work arrays hold at most `elements` entries each."""
    step = max(1, elements // max(batch, 1))
    return [slice(start, start + step) for start in range(0, rows, step)]


def _lookup_into(table: torch.Tensor, codes: torch.Tensor, var: torch.Tensor,
                 out: torch.Tensor, native: SumKernel | None = None) -> None:
    """out[r, b] = table[r, codes[var[r], b]]: by the `native` engine's kernel when given,
    else a slice of rows at a time (a bounded (rows, batch) index)."""
    if native is not None and out.is_contiguous():
        native.lookup(table.contiguous(), codes.contiguous(), var, out)
        return
    for rows in slices(len(var), codes.shape[1]):
        torch.gather(table[rows], 1, codes.index_select(0, var[rows]), out=out[rows])


class _TableLookup(torch.autograd.Function):
    """`_lookup_into` with a backward that adds each entry's gradient to the table cell it
    read; it keeps only the (vars, batch) codes, not a (rows, batch) index, for the backward."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, codes: torch.Tensor,  # type: ignore[override]
                var: torch.Tensor) -> torch.Tensor:
        out = table.new_empty((len(var), codes.shape[1]))
        _lookup_into(table, codes, var, out)
        ctx.save_for_backward(codes, var)
        ctx.table_shape = table.shape
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        codes, var = ctx.saved_tensors
        return _table_gradient(codes, var, grad, ctx.table_shape), None, None


def _table_gradient(codes: torch.Tensor, var: torch.Tensor, grad: torch.Tensor,
                    shape: torch.Size) -> torch.Tensor:
    """The gradient of a value table (of `shape`) whose cell (r, codes[var[r], b]) gave entry
    (r, b) of a lookup, from the lookup's gradient `grad` (rows, batch)."""
    grad_table = grad.new_zeros(shape)
    # a (rows, batch) int64 index per slice: a backward's slices are kept small, since the
    # whole activation buffer, weights and their gradients are resident beside them
    for rows in slices(len(var), codes.shape[1], GRADIENT_ELEMENTS):
        grad_table[rows].scatter_add_(1, codes.index_select(0, var[rows]), grad[rows])
    return grad_table
