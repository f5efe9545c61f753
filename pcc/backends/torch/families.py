"""Input families in torch: one module per family evaluates every leaf unit of it in one op.

Each module is built from the stacked parameters of all input units of its family (rows = units)
and the variable each row reads. `forward(x, missing)` takes the data as float64 (batch, vars)
with missing entries already replaced by 0, and returns (rows, batch) log-values in the module's
dtype, matching `pcc.backends.reference.families` (-inf off the support, 0 where missing).
`params(start, stop)` gives back the current parameters of rows [start, stop) (one input group)
as the IR stores them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from pcc.backends.torch.native import kernel
from pcc.backends.torch.params import NEG_INF, LogTable

Params = dict[str, np.ndarray]


class Family(nn.Module):
    var: torch.Tensor
    def __init__(self, var: np.ndarray, dtype: torch.dtype):
        super().__init__()
        self.dtype = dtype
        self.register_buffer("var", torch.tensor(var, dtype=torch.long), persistent=False)

    # a family whose density is computed in the model's dtype anyway reads its values in it
    # (half the memory traffic in float32); the others get the data's float64
    values_in_model_dtype = False

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

    def lookup(self, codes: torch.Tensor, k: int, out: torch.Tensor | None = None
               ) -> torch.Tensor:
        """The (rows, batch) log-values by table lookup, one gather instead of the family's
        arithmetic on every entry: `codes` (vars, batch) holds each value, or k where
        missing. With `out`, written there without autograd; otherwise differentiable in the
        family's parameters through the value table."""
        table = self.value_table(k).to(out.dtype if out is not None else self.dtype)
        if out is not None:
            _lookup_into(table, codes, self.var, out)
            return out
        return _TableLookup.apply(table, codes, self.var)

    def params(self, start: int, stop: int) -> Params:
        raise NotImplementedError


LOOKUP_ELEMENTS = 1 << 22  # (rows x batch) index entries per slice: 32 MiB of int64


def _slices(rows: int, batch: int) -> list[slice]:
    step = max(1, LOOKUP_ELEMENTS // max(batch, 1))
    return [slice(start, start + step) for start in range(0, rows, step)]


def _lookup_into(table: torch.Tensor, codes: torch.Tensor, var: torch.Tensor,
                 out: torch.Tensor) -> None:
    """out[r, b] = table[r, codes[var[r], b]]: by the native kernel on the CPU, else a slice of
    rows at a time (a bounded (rows, batch) index)."""
    native = kernel() if out.device.type == "cpu" else None
    if native is not None and out.is_contiguous():
        native.lookup(table.contiguous(), codes.contiguous(), var, out)
        return
    for rows in _slices(len(var), codes.shape[1]):
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
        grad_table = grad.new_zeros(ctx.table_shape)
        for rows in _slices(len(var), codes.shape[1]):
            grad_table[rows].scatter_add_(1, codes.index_select(0, var[rows]), grad[rows])
        return grad_table, None, None


def _two_class(p: np.ndarray, dtype: torch.dtype) -> LogTable:
    return LogTable(np.stack([1.0 - p, p], axis=1), dtype=dtype)


class Bernoulli(Family):
    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.table = _two_class(params["p"], dtype)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        lp = self.table()
        return torch.where(xs == 1, lp[:, 1:], lp[:, :1])

    def params(self, start: int, stop: int) -> Params:
        return {"p": self.table.values()[start:stop, 1]}


class Categorical(Family):
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

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        inside = (xs >= 0) & (xs < self.size[:, None])
        index = torch.where(inside, xs, 0.0).long()
        return torch.where(inside, self.table().gather(1, index), NEG_INF)

    def params(self, start: int, stop: int) -> Params:
        return {"probs": self.table.values()[start:stop, :int(self.sizes[start])]}


class Indicator(Family):
    value: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.register_buffer("value", torch.as_tensor(params["value"], dtype=torch.float64),
                             persistent=False)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros((), dtype=self.dtype, device=xs.device)
        return torch.where(xs == self.value[:, None], zero, NEG_INF)

    def params(self, start: int, stop: int) -> Params:
        return {"value": self.value[start:stop].cpu().numpy().astype(np.int64)}


class Binomial(Family):
    n: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.table = _two_class(params["p"], dtype)
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

    def params(self, start: int, stop: int) -> Params:
        return {"n": self.n[start:stop].cpu().numpy().astype(np.int64),
                "p": self.table.values()[start:stop, 1]}


class Poisson(Family):
    live: torch.Tensor

    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        rate = params["rate"]
        self.log_rate = nn.Parameter(torch.as_tensor(np.log(np.where(rate > 0, rate, 1.0)),
                                                     dtype=dtype))
        self.register_buffer("live", torch.as_tensor(rate > 0), persistent=False)

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        lr = torch.where(self.live, self.log_rate, NEG_INF)[:, None]
        k = xs.to(self.dtype)
        term = torch.where(k == 0, 0.0, k * lr)
        return term - torch.exp(lr) - torch.lgamma(xs + 1).to(self.dtype)

    def params(self, start: int, stop: int) -> Params:
        with torch.no_grad():
            lr = torch.where(self.live, self.log_rate, NEG_INF)
            return {"rate": torch.exp(lr.double()).cpu().numpy()[start:stop]}


class Gaussian(Family):
    def __init__(self, var: np.ndarray, params: Params, dtype: torch.dtype):
        super().__init__(var, dtype)
        self.mean = nn.Parameter(torch.as_tensor(params["mean"], dtype=dtype))
        self.log_std = nn.Parameter(torch.as_tensor(np.log(params["std"]), dtype=dtype))

    values_in_model_dtype = True

    def log_prob(self, xs: torch.Tensor) -> torch.Tensor:
        z = (xs.to(self.dtype) - self.mean[:, None]) * torch.exp(-self.log_std)[:, None]
        return -0.5 * z * z - self.log_std[:, None] - 0.5 * math.log(2 * math.pi)

    def log_prob_owned(self, xs: torch.Tensor) -> torch.Tensor:
        return _GaussianLogProb.apply(xs.to(self.dtype), self.mean, self.log_std)

    def params(self, start: int, stop: int) -> Params:
        with torch.no_grad():
            return {"mean": self.mean.double().cpu().numpy()[start:stop],
                    "std": torch.exp(self.log_std.double()).cpu().numpy()[start:stop]}


class _GaussianLogProb(torch.autograd.Function):
    """log N(x; mean, exp(log_std)) for (rows, batch) values, overwriting them, with
    closed-form gradients: d/dmean = z / std and d/dlog_std = z^2 - 1 with z = (x - mean) / std.
    Autograd through the formula kept four (rows, batch) tensors and reduced over the batch
    once per broadcast parameter (a RAT-SPN's Gaussian leaves took most of its backward)."""

    @staticmethod
    def forward(ctx, xs: torch.Tensor, mean: torch.Tensor,  # type: ignore[override]
                log_std: torch.Tensor) -> torch.Tensor:
        inv_std = torch.exp(-log_std)[:, None]
        z = xs.sub_(mean[:, None]).mul_(inv_std)
        out = torch.square(z).mul_(-0.5).sub_(log_std[:, None] + 0.5 * math.log(2 * math.pi))
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            ctx.save_for_backward(z, inv_std)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        z, inv_std = ctx.saved_tensors
        gz = grad * z
        grad_mean = gz.sum(1) * inv_std[:, 0]
        grad_log_std = gz.mul_(z).sum(1) - grad.sum(1)
        return None, grad_mean, grad_log_std


class Histogram(Family):
    """Bin masses are the table (log mass - log width = log density); breaks are fixed."""
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

    def forward(self, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        native = kernel() if x.device.type == "cpu" and self.unit_bins else None
        if native is None or (torch.is_grad_enabled() and self.table.theta.requires_grad):
            return super().forward(x, missing)
        out = torch.empty((len(self.var), x.shape[0]), dtype=self.dtype)
        native.unit_bins(self._log_density().contiguous(),
                         self.breaks[:, 0].contiguous(), self.bins, x.t().contiguous(),
                         missing.t().contiguous().to(torch.uint8), self.var, out)
        return out

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
        return torch.where(inside, log_density.gather(1, bin.clamp(min=0, max=log_density.shape[1] - 1)), NEG_INF)

    def params(self, start: int, stop: int) -> Params:
        k = int(self.sizes[start])
        with torch.no_grad():
            density = torch.exp(self.table().double() - self.log_width.double()).cpu().numpy()
        return {"breaks": self.breaks.cpu().numpy()[start:stop, :k + 1],
                "densities": density[start:stop, :k]}


SIMPLE = {"bernoulli": Bernoulli, "indicator": Indicator, "binomial": Binomial,
          "poisson": Poisson, "gaussian": Gaussian}
RAGGED = {"categorical": ("probs", Categorical), "histogram": ("densities", Histogram)}


def make_family(name: str, groups: list, var: np.ndarray, dtype: torch.dtype) -> Family:
    """The module of family `name` over the stacked units of input `groups` (in row order)."""
    if name in RAGGED:
        key, cls = RAGGED[name]
        sizes = np.repeat([g.params[key].shape[1] for g in groups], [g.units for g in groups])
        flat = {k: np.concatenate([g.params[k].ravel() for g in groups]) for k in groups[0].params}
        return cls(var, flat, dtype, sizes)
    stacked = {k: np.concatenate([g.params[k] for g in groups]) for k in groups[0].params}
    return SIMPLE[name](var, stacked, dtype)
