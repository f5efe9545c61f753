"""One module per block op of the plan, and the autograd function that runs them all.

A block reads its inputs from the activation buffer (columns x batch: gathering whole rows of
the buffer is a contiguous copy) and returns its (rows, batch) output. The forward pass writes
each block's output in place into its slice of the buffer. The backward pass walks the blocks in
reverse, recomputes each block from the saved buffer with autograd enabled, and scatters the
gradients of its inputs back (index_add): memory stays one buffer plus one block, and there is no
per-layer copy of the buffer that a chain of in-place writes under autograd would cost.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from pcc.backends.torch.params import NEG_INF, LogTable, logsumexp, max_shift, safe_log
from pcc.layering import NEG_INF as NEG_INF_COLUMN
from pcc.layering import ZERO as ZERO_COLUMN
from pcc.layering import Block


def gather(buf: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """buf[index] for a (columns, batch) buffer: shape index.shape + (batch,)."""
    return buf.index_select(0, index.reshape(-1)).view(*index.shape, buf.shape[1])


class BlockOp(nn.Module):
    def __init__(self, block: Block, weights: np.ndarray | None, dtype: torch.dtype):
        super().__init__()
        self.start, self.stop = block.start, block.stop
        self.register_buffer("index", torch.as_tensor(block.index, dtype=torch.long),
                             persistent=False)
        self.table: LogTable | None = None
        if block.weight_slots is not None:
            assert weights is not None
            slots = block.weight_slots.reshape(-1, _row_width(block))
            values = np.where(slots >= 0, weights[np.maximum(slots, 0)], 0.0)
            self.table = LogTable(values, slots >= 0, dtype)

    def indices(self) -> list[torch.Tensor]:
        return [self.index]

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


def _row_width(block: Block) -> int:
    """Columns of one IR weight row in the block's weight slots (a row is one sum unit)."""
    shape = block.weight_slots.shape  # type: ignore[union-attr]
    return int(np.prod(shape[2:])) if block.op == "kron" else shape[-1]


class ProductOp(BlockOp):
    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        return inputs[0].sum(1)


class SumOp(BlockOp):
    """Exact per-unit logsumexp of (input + log weight): exact zeros and any range of values."""

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        return logsumexp(inputs[0] + log_w[:, :, None], 1)  # type: ignore[index]


class DenseOp(BlockOp):
    """log-einsum-exp: subtract each group's max input, one batched matmul, log, add it back."""

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        x = inputs[0]                                             # (G, F, B)
        G, F, B = x.shape
        m = max_shift(x, 1)
        s = torch.bmm(torch.exp(log_w).reshape(G, -1, F), torch.exp(x - m))  # type: ignore[arg-type]
        return (safe_log(s) + m).reshape(-1, B)


class KronOp(BlockOp):
    """EiNet's S_k = sum_p sum_ij W_kpij a_pi b_pj in log space, never storing the a x b layer."""

    def __init__(self, block: Block, weights: np.ndarray | None, dtype: torch.dtype):
        super().__init__(block, weights, dtype)
        self.register_buffer("index_b", torch.as_tensor(block.index_b, dtype=torch.long),
                             persistent=False)

    def indices(self) -> list[torch.Tensor]:
        return [self.index, self.index_b]

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        a, b = inputs                                             # (G, P, Ka, B), (G, P, Kb, B)
        G, P, Ka, B = a.shape
        Kb = b.shape[2]
        K = log_w.shape[0] // G  # type: ignore[union-attr]
        ma, mb = max_shift(a, 2), max_shift(b, 2)
        ea = torch.exp(a - ma).reshape(G * P, Ka, B)
        eb = torch.exp(b - mb).reshape(G * P, Kb, B)
        w = torch.exp(log_w).reshape(G, K, P, Ka, Kb).transpose(1, 2).reshape(G * P, K, Ka, Kb)  # type: ignore[arg-type]
        if K <= Kb:   # contract j first: the intermediate is (K, Ka) per pair
            t = torch.bmm(w.reshape(G * P, K * Ka, Kb), eb).view(G * P, K, Ka, B)
            s = (t * ea[:, None]).sum(2)
        else:         # contract (i, j) at once: the intermediate is (Ka, Kb) per pair
            outer = (ea[:, :, None, :] * eb[:, None, :, :]).reshape(G * P, Ka * Kb, B)
            s = torch.bmm(w.reshape(G * P, K, Ka * Kb), outer)
        logs = safe_log(s).view(G, P, K, B) + (ma + mb).view(G, P, 1, B)
        out = logs[:, 0] if P == 1 else logsumexp(logs, 1)
        return out.reshape(G * K, B)


OPS = {"product": ProductOp, "sum": SumOp, "dense": DenseOp, "kron": KronOp}


def run_blocks(blocks: list[BlockOp], leaves: torch.Tensor, log_ws: list[torch.Tensor | None],
               columns: int) -> torch.Tensor:
    """The filled (columns, batch) buffer: constants, the leaves, then every block in order."""
    buf = leaves.new_empty((columns, leaves.shape[1]))
    buf[ZERO_COLUMN] = 0.0
    buf[NEG_INF_COLUMN] = NEG_INF
    first = NEG_INF_COLUMN + 1
    buf[first:first + leaves.shape[0]] = leaves
    for block, log_w in zip(blocks, log_ws):
        buf[block.start:block.stop] = block.compute([gather(buf, i) for i in block.indices()], log_w)
    return buf


class Evaluate(torch.autograd.Function):
    """(leaves, *log-weights) -> root values; see the module docstring for the backward pass."""

    @staticmethod
    def forward(ctx, program: "Program", leaves: torch.Tensor,  # type: ignore[override]
                *log_ws: torch.Tensor) -> torch.Tensor:
        buf = run_blocks(program.blocks, leaves, program.expand(log_ws), program.columns)
        ctx.program, ctx.buf, ctx.num_leaves = program, buf, leaves.shape[0]
        ctx.save_for_backward(*log_ws)
        start, stop = program.root
        return buf[start:stop].t().contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        program, buf = ctx.program, ctx.buf
        log_ws = program.expand(ctx.saved_tensors)
        grad_buf = torch.zeros_like(buf)
        start, stop = program.root
        grad_buf[start:stop] += grad.t()
        grad_ws: list[torch.Tensor | None] = [None] * len(program.blocks)
        for i in range(len(program.blocks) - 1, -1, -1):
            block, log_w = program.blocks[i], log_ws[i]
            # a unit of probability zero passes no gradient down: it would be 0 * inf = NaN
            g = grad_buf[block.start:block.stop]
            g = torch.where(buf[block.start:block.stop] == NEG_INF, 0.0, g)
            with torch.enable_grad():
                inputs = [gather(buf, j).requires_grad_() for j in block.indices()]
                w = None if log_w is None else log_w.detach().requires_grad_()
                out = block.compute(inputs, w)
                wrt = inputs + ([w] if w is not None else [])
                grads = torch.autograd.grad(out, wrt, g)
            for j, gi in zip(block.indices(), grads):
                grad_buf.index_add_(0, j.reshape(-1), gi.reshape(-1, buf.shape[1]))
            if w is not None:
                grad_ws[i] = grads[-1]
        first = NEG_INF_COLUMN + 1
        grad_leaves = grad_buf[first:first + ctx.num_leaves]
        return (None, grad_leaves, *[grad_ws[i] for i in program.weighted])


class Program:
    """What `Evaluate` needs: the block modules in order, which of them have weights, the buffer
    size and the root's columns. Holds no tensors of its own (the modules do)."""

    def __init__(self, blocks: list[BlockOp], columns: int, root: tuple[int, int]):
        self.blocks, self.columns, self.root = blocks, columns, root
        self.weighted = [i for i, b in enumerate(blocks) if b.table is not None]

    def expand(self, log_ws: tuple[torch.Tensor, ...]) -> list[torch.Tensor | None]:
        full: list[torch.Tensor | None] = [None] * len(self.blocks)
        for i, w in zip(self.weighted, log_ws):
            full[i] = w
        return full
