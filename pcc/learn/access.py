"""How EM reaches the parameters of a compiled circuit (`pcc.backends.torch.CompiledCircuit`).

EM needs, from one forward pass, the tensors of normalized log-weights and of leaf
log-probabilities that the pass used, so that autograd can give dLL/d(log w) and
dLL/d(log p_leaf); and it needs to read and write those parameters. `TorchEMAccess` is the one
place that knows the backend's layout: one `LogTable` per weighted block (a row is one sum unit,
`live` marks its real weights) and one module per input block (rows = leaf units).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pcc.backends.torch.blocks import Evaluate
from pcc.backends.torch.module import CompiledCircuit
from pcc.backends.torch.params import LogTable


class TorchEMAccess:
    """EM's view of a `CompiledCircuit`: taps, weight tables and leaf parameters."""

    def __init__(self, model: CompiledCircuit):
        self.model = model
        self.tables: list[Any] = [b.table for b in model.program.blocks if b.table is not None]
        # how each table is stored is fixed when the model is built: look once
        tables = self.tables + [t for t in map(_log_table, model.families) if t is not None]
        self._flip = {id(t): _transposed(t) for t in tables}
        self.weight_live = [self._live(t) for t in self.tables]
        self.input_families = [type(f).__name__.lower() for f in model.families]
        self.input_vars: list[torch.Tensor] = [f.var for f in model.families]  # type: ignore[misc]
        ends = np.cumsum([0] + [len(v) for v in self.input_vars]).tolist()
        self.input_rows = list(zip(ends[:-1], ends[1:]))

    def forward_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor],
                                                     torch.Tensor, torch.Tensor]:
        """(log p(x) per row, log-weight tables, the (units, rows) log-values of every input
        unit (0 where missing; input block i owns rows `input_rows[i]`), and x as float64
        with NaN where missing). Gradients reach the tables and the leaf values; EM needs no
        gradient through the leaves' parameters, so the leaves are computed without autograd."""
        m = self.model
        xs, missing = m.domains.prepare(x, None, m.device)
        log_ws = [t() for t in self.tables]
        m.program.scratch.release()
        like = torch.empty(0, dtype=m.dtype, device=m.device)
        _, leaves = m.program.new_buffer(like, xs.shape[0])  # the leaves go in place
        m.write_leaves(xs, missing, leaves)
        leaves.requires_grad_()
        root = Evaluate.apply(m.program, leaves, *log_ws)
        x_nan = torch.where(missing, torch.nan, xs)
        return root[:, 0], log_ws, leaves, x_nan

    def log_weights(self) -> list[torch.Tensor]:
        with torch.no_grad():
            return [t() for t in self.tables]

    def set_log_weights(self, log_ws: list[torch.Tensor]) -> None:
        """Write normalized log-weights (-inf and padding entries are left as they are)."""
        with torch.no_grad():
            for table, lw in zip(self.tables, log_ws):
                self._assign(table, lw, self._live(table))

    def input_params(self, i: int) -> dict[str, torch.Tensor]:
        """Parameters of input block i as float64 tensors with a leading units axis."""
        family: Any = self.model.families[i]
        name = self.input_families[i]
        with torch.no_grad():
            if name in ("bernoulli", "binomial"):
                p = _log_table(family)().double().exp()[:, 1]
                return {"p": p, "n": family.n.double()} if name == "binomial" else {"p": p}
            if name == "categorical":
                return {"probs": _log_table(family)().double().exp()}
            if name == "gaussian":
                return {"mean": family.mean.double(), "std": family.log_std.double().exp()}
            if name == "poisson":
                return {"rate": family.log_rate.double().exp()}
        raise ValueError(f"EM cannot train {name} inputs (input block {i})")

    def set_input_params(self, i: int, params: dict[str, torch.Tensor],
                         units: torch.Tensor) -> None:
        """Write the parameters of the `units` (bool mask) of input block i; the other units'
        stored values are not touched at all (not even rounded through a log and back)."""
        family: Any = self.model.families[i]
        name = self.input_families[i]
        with torch.no_grad():
            if name in ("bernoulli", "binomial"):
                p = params["p"]
                self._write_table(_log_table(family), torch.stack([1 - p, p], 1), units)
            elif name == "categorical":
                self._write_table(_log_table(family), params["probs"], units)
            elif name == "gaussian":
                _write(family.mean, params["mean"], units)
                _write(family.log_std, params["std"].log(), units)
            elif name == "poisson":
                _write(family.log_rate, params["rate"].log(), units)

    def _live(self, table: Any) -> torch.Tensor:
        """The table's live mask in the (rows, columns) orientation of `table()`."""
        return table.live.t() if self._flip[id(table)] else table.live

    def _assign(self, table: Any, log_values: torch.Tensor,
                where: torch.Tensor) -> None:
        """Set theta so that `table()` reads `log_values` at `where` (rows, columns); the
        log-softmax of a normalized row leaves normalized log-values as they are."""
        theta = table.theta
        if self._flip[id(table)]:
            log_values, where = log_values.t(), where.t()
        theta.copy_(torch.where(where, log_values.to(theta.dtype), theta))

    def _write_table(self, table: Any, values: torch.Tensor,
                     units: torch.Tensor) -> None:
        """Set a LogTable's live entries of `units` to log(values); its log-softmax renormalizes
        each row over its live entries (padding of ragged categorical rows stays out)."""
        logs = values.clamp_min(0).log().to(table.theta.dtype)
        # a live entry that EM drives to exactly zero stays live (a tiny value, not -inf)
        logs = torch.where(torch.isfinite(logs), logs, torch.finfo(logs.dtype).min / 2)
        self._assign(table, logs, self._live(table) & units[:, None])


def _write(param: torch.Tensor, values: torch.Tensor, units: torch.Tensor) -> None:
    param.copy_(torch.where(units, values.to(param.dtype), param))


def _log_table(family: torch.nn.Module) -> Any:
    """The input module's table of log-probabilities (a `LogTable` child), or None."""
    return next((m for m in family.children() if isinstance(m, LogTable)), None)


def _transposed(table: Any) -> bool:
    """Whether the backend stores `theta` as (columns, rows), `table()` being a transposed view
    (it normalizes faster along the first axis); both layouts have existed."""
    view = table()
    if tuple(table.theta.shape) != tuple(view.shape):
        return True
    return view.shape[0] > 1 and not view.is_contiguous() and view.t().is_contiguous()


def em_access(model: torch.nn.Module) -> TorchEMAccess:
    """EM's access to `model`; a TypeError when it is not a compiled circuit."""
    if not isinstance(model, CompiledCircuit):
        raise TypeError(f"EM needs a CompiledCircuit from pcc.backends.torch, got "
                        f"{type(model).__name__}")
    return TorchEMAccess(model)
