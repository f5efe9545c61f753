"""The top-down pass MPE and sampling share on a compiled circuit: a backtrack over the units that
the chosen sub-circuit reaches, in the activation buffer of an upward pass that kept it
(`CompiledCircuit.run` with `keep_buffer`: sum-product for sampling, max-product for MPE).

Top-down: a uint8 (columns, batch) mask of active units, root unit 0 active in every row. The
blocks are walked in reverse; each takes all of its active (unit, row) pairs at once
(`nonzero`), recomputes their terms from the buffer, lets `choose` pick one input per pair
(argmax for MPE, a draw for sampling) and marks the chosen child columns; products mark all
their children. On a smooth, decomposable circuit the active inputs then hold exactly one unit
per variable of the root's scope, which fills that variable's missing entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch

from pcc.backends.torch.blocks import BlockOp
from pcc.backends.torch.families import Family
from pcc.backends.torch.modes import LeafParams, leaf_params
from pcc.backends.torch.module import CompiledCircuit
from pcc.layering import Block

Choose = Callable[[torch.Tensor], torch.Tensor]          # (n, F) terms -> (n,) picks
Fill = Callable[[int, torch.Tensor], torch.Tensor]       # (input block, rows) -> values


@dataclass(frozen=True)
class Inner:
    """One non-input block: its plan entry, its module and its log-weights (rows, fan-in)."""

    block: Block
    op: BlockOp
    log_w: torch.Tensor | None


@dataclass(frozen=True)
class Leaves:
    """One input block: its plan entry, its family module, and its parameters and modes."""

    block: Block
    family: Family
    params: LeafParams


def inner_blocks(model: CompiledCircuit) -> list[Inner]:
    with torch.no_grad():
        plan = [b for b in model.plan.blocks if b.op != "input"]
        ops = cast("list[BlockOp]", list(model.blocks))
        return [Inner(b, op, None if op.table is None else op.table())
                for b, op in zip(plan, ops)]


def input_blocks(model: CompiledCircuit) -> list[Leaves]:
    plan = [b for b in model.plan.blocks if b.op == "input"]
    families = cast("list[Family]", list(model.families))
    return [Leaves(b, f, leaf_params(model.circuit, b, f, model.device))
            for b, f in zip(plan, families)]


def chunk_rows(model: CompiledCircuit, inner: list[Inner]) -> int:
    """Rows per chunk so that the buffer, the active mask and the largest block's terms stay
    within the model's `buffer_bytes`."""
    itemsize = torch.finfo(model.dtype).bits // 8
    widest = max([_terms_per_row(i) for i in inner] + [0])
    return model.chunk_rows(model.plan.num_columns * (itemsize + 1) + 2 * widest * itemsize)


def _terms_per_row(inner: Inner) -> int:
    if inner.log_w is not None:
        return int(inner.log_w.numel())    # one term per weight (kron: never the a x b layer)
    return int(inner.op.index.numel())


# -- top-down ---------------------------------------------------------------------------------
def backtrack(model: CompiledCircuit, inner: list[Inner], buf: torch.Tensor,
              choose: Choose) -> torch.Tensor:
    """The (columns, batch) uint8 mask of the units the chosen sub-circuit of each row reaches
    (1 = active). Reads and writes go through flat indices (column * batch + row): one
    index_select / index_fill over the flat buffer is several times faster than indexing
    with a pair of index tensors."""
    B = buf.shape[1]
    active = torch.zeros((model.plan.num_columns, B), dtype=torch.uint8, device=buf.device)
    active[model.plan.root_columns[0]] = 1
    flat_buf, flat_active = buf.view(-1), active.view(-1)

    def read(cols: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """buf[cols, b] for cols (n, ...) and b (n,)."""
        index = cols * B + b.view(-1, *([1] * (cols.dim() - 1)))
        return flat_buf.index_select(0, index.reshape(-1)).view(cols.shape)

    def mark(cols: torch.Tensor, b: torch.Tensor) -> None:
        index = cols * B + b.view(-1, *([1] * (cols.dim() - 1)))
        flat_active.index_fill_(0, index.reshape(-1), 1)

    for step in reversed(inner):
        block, op = step.block, step.op
        r, b = active_pairs(active, block.start, block.stop)
        if r.numel() == 0:
            continue
        if block.op == "product":
            mark(op.index[r], b)                                  # (n, F); pads mark ZERO
            continue
        assert step.log_w is not None
        if block.op in ("sum", "dense"):
            cols = op.index[r] if block.op == "sum" else op.index[r // block.units]
            picked = choose(read(cols, b) + step.log_w[r])
            mark(cols.gather(1, picked[:, None])[:, 0], b)
            continue
        g = r // block.units                                      # kron: (p, i, j) flat
        a_cols, b_cols = op.index[g], cast(torch.Tensor, op.index_b)[g]  # (n, P, Ka|Kb)
        n, P, Ka = a_cols.shape
        Kb = b_cols.shape[2]
        terms = (step.log_w[r].view(n, P, Ka, Kb) + read(a_cols, b)[..., None]
                 + read(b_cols, b)[:, :, None, :])
        picked = choose(terms.reshape(n, -1))
        p, i, j = picked // (Ka * Kb), (picked // Kb) % Ka, picked % Kb
        rows = torch.arange(n, device=buf.device)
        mark(a_cols[rows, p, i], b)
        mark(b_cols[rows, p, j], b)
    return active


def active_pairs(active: torch.Tensor, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(unit row within [start, stop), batch row) of every active entry there."""
    B = active.shape[1]
    flat = active[start:stop].view(-1).nonzero()[:, 0]
    return flat // B, flat % B


def fill(leaves: list[Leaves], active: torch.Tensor, x: torch.Tensor, missing: torch.Tensor,
         values: Fill) -> torch.Tensor:
    """`x` with each missing entry taken from the active input unit of its variable
    (`values(i, rows)` for rows of input block i); NaN where no unit covers it."""
    out = torch.where(missing, float("nan"), x)
    for i, leaf in enumerate(leaves):
        r, b = active_pairs(active, leaf.block.start, leaf.block.stop)
        var = leaf.family.var[r]
        keep = missing[b, var]
        r, b, var = r[keep], b[keep], var[keep]
        if r.numel():
            out[b, var] = values(i, r).to(out.dtype)
    return out
