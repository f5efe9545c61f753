"""One module per block op of the plan (the fused einsum's is in `einsum.py`), and the autograd
function that runs them all.

A block reads its inputs from the activation buffer (columns x batch: gathering whole rows of
the buffer is a contiguous copy) and returns its (rows, batch) output. The forward pass writes
each block's output in place into its slice of the buffer. The backward pass walks the blocks in
reverse; each block scatters the gradients of its inputs back (index_add), in closed form for
products, sums and einsums (softmax shares read from the saved outputs) and by recomputing the
block under autograd otherwise: memory stays one buffer plus one block, and there is no
per-layer copy of the buffer that a chain of in-place writes under autograd would cost.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.functional import embedding_bag

from pcc.backends.torch.params import NEG_INF, LogTable, logsumexp, max_shift, safe_log, vjp
from pcc.layering import NEG_INF_COLUMN
from pcc.layering import ZERO as ZERO_COLUMN
from pcc.layering import Block


def gather(buf: "torch.Tensor | Values", index: torch.Tensor) -> torch.Tensor:
    """buf[index] for a (columns, batch) buffer (or the `Values` a backward pass reads): shape
    index.shape + (batch,)."""
    if isinstance(buf, Values):
        return buf.gather(index)
    return buf.index_select(0, index.reshape(-1)).view(*index.shape, buf.shape[1])


class Values:
    """The unit values a backward pass reads once the activation buffer holds gradients: the
    columns `Program.saved_columns` lists, copied out of the buffer; indexed like the buffer
    (`gather`, row slices of one block's outputs), by column."""

    def __init__(self, buf: torch.Tensor, saved: torch.Tensor, remap: torch.Tensor,
                 offset: np.ndarray):
        self.tensor = buf.index_select(0, saved)  # (saved columns, batch)
        self.remap, self.offset = remap, offset   # buffer column -> row of `tensor` (-1: none)
        self.shape = buf.shape

    def gather(self, index: torch.Tensor) -> torch.Tensor:
        return gather(self.tensor, self.remap[index])

    def __getitem__(self, rows: slice) -> torch.Tensor:
        """The kept rows start:stop (one block's outputs: kept together, in order)."""
        first = int(self.offset[rows.start])
        return self.tensor[first:first + rows.stop - rows.start]


class BlockOp(nn.Module):
    index: torch.Tensor
    reads_inputs = True  # whether `backward_into` reads the values of the columns it reads
    def __init__(self, block: Block, weights: np.ndarray | None, dtype: torch.dtype):
        super().__init__()
        self.start, self.stop = block.start, block.stop
        self.register_buffer("index", torch.tensor(block.index, dtype=torch.long),
                             persistent=False)
        self.table: LogTable | None = None
        if block.weight_slots is not None:
            assert weights is not None
            slots = block.weight_slots.reshape(-1, _row_width(block))
            values = np.where(slots >= 0, weights[np.maximum(slots, 0)], 0.0)
            self.table = LogTable(values, slots >= 0, dtype)

    def indices(self) -> list[torch.Tensor]:
        return [self.index]

    def work_per_row(self) -> int:
        """Elements of work memory one example needs while this block runs."""
        return 2 * self.index.numel() + (self.stop - self.start)

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        """The block's output from gathered inputs, differentiable and NaN-free in gradients."""
        raise NotImplementedError

    def fast(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
             log_w: torch.Tensor | None) -> None:
        """Write the block's output into `out` without autograd (the forward pass)."""
        out.copy_(self.compute([gather(buf, i) for i in self.indices()], log_w))

    def max_product(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
                    log_w: torch.Tensor | None) -> None:
        """Write the block's max-product output into `out` (no autograd): each sum's
        log-sum-exp replaced by the max over its terms (child value + log weight)."""
        raise NotImplementedError

    def backward_into(self, buf: "torch.Tensor | Values", grad_buf: torch.Tensor,
                      log_w: torch.Tensor | None, grad: torch.Tensor) -> torch.Tensor | None:
        """Add the gradient of <grad, output> for every column the block read into
        `grad_buf`; return the gradient of its log-weights (None without weights)."""
        grads, grad_w = self.vjp([gather(buf, j) for j in self.indices()], log_w, grad)
        for j, gi in zip(self.indices(), grads):
            grad_buf.index_add_(0, j.reshape(-1), gi.reshape(-1, buf.shape[1]))
        return grad_w

    def vjp(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None, grad: torch.Tensor
            ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Gradients of <grad, output> for the gathered inputs and the log-weights, by
        recomputing the block under autograd."""
        with torch.enable_grad():
            inputs = [x.requires_grad_() for x in inputs]
            w = None if log_w is None else log_w.detach().requires_grad_()
            out = self.compute(inputs, w)
            grads = vjp(out, inputs + ([w] if w is not None else []), grad)
        # every input and the weights are read by `compute`: none of the gradients is None
        return list(grads[:len(inputs)]), grads[-1] if w is not None else None  # type: ignore[arg-type]


def _row_width(block: Block) -> int:
    """Columns of one IR weight row in the block's weight slots (a row is one sum unit)."""
    shape = block.weight_slots.shape  # type: ignore[union-attr]
    return int(np.prod(shape[2:])) if block.op == "kron" else shape[-1]


class ProductOp(BlockOp):
    reads_inputs = False  # its backward copies the output's gradient to every input
    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        return inputs[0].sum(1)

    def fast(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
             log_w: torch.Tensor | None) -> None:
        if self.index.shape[1] == 1:  # one child: the root, or a plan made without aliases
            out.copy_(buf.index_select(0, self.index[:, 0]))
            return
        # embedding_bag gathers and adds in one pass, without a (rows, F, batch) copy: 1.4x
        # (F = 2) to 2.6x (F = 8) faster than a gather then F - 1 additions
        out.copy_(embedding_bag(self.index, buf, mode="sum"))

    max_product = fast  # a product is the same in both semirings

    def backward_into(self, buf: "torch.Tensor | Values", grad_buf: torch.Tensor,
                      log_w: torch.Tensor | None, grad: torch.Tensor) -> torch.Tensor | None:
        # every input of a row gets the row's gradient: F scatter-adds, nothing recomputed
        for f in range(self.index.shape[1]):
            grad_buf.index_add_(0, self.index[:, f], grad)
        return None


class SumOp(BlockOp):
    """Exact per-unit logsumexp of (input + log weight): exact zeros and any range of values."""

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        return logsumexp(inputs[0] + log_w[:, :, None], 1)  # type: ignore[index]

    def backward_into(self, buf: "torch.Tensor | Values", grad_buf: torch.Tensor,
                      log_w: torch.Tensor | None, grad: torch.Tensor) -> torch.Tensor | None:
        """Input f of row r gets grad_r times its share exp(x_f + log w_f - out_r) of the
        output, read from the buffer rather than recomputed (a row of value log 0 has a
        zero gradient already)."""
        x = gather(buf, self.index)                                       # (rows, F, B)
        out = buf[self.start:self.stop]
        shift = torch.where(torch.isneginf(out), 0.0, out)
        g = x.add_(log_w[:, :, None]).sub_(shift[:, None]).exp_().mul_(grad[:, None])  # type: ignore[index]
        grad_buf.index_add_(0, self.index.reshape(-1), g.reshape(-1, buf.shape[1]))
        return g.sum(2)

    def fast(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
             log_w: torch.Tensor | None) -> None:
        x = scratch.gather(buf, self.index)
        x.add_(log_w[:, :, None])  # type: ignore[index]
        F = x.shape[1]
        if F == 1:
            out.copy_(x[:, 0])
        elif F <= SMALL_FAN_IN:   # a chain of exact pairwise log-add-exps (-inf safe)
            torch.logaddexp(x[:, 0], x[:, 1], out=out)
            for f in range(2, F):
                torch.logaddexp(out, x[:, f], out=out)
        else:
            m = scratch.rows(out.shape)
            torch.amax(x, 1, out=m)
            m.masked_fill_(torch.isneginf(m), 0.0)
            x.sub_(m[:, None])
            # terms below the smallest normal float add less than half an ulp to the max
            # term's 1; dropping them avoids exp's very slow subnormal results
            x.masked_fill_(x < math.log(torch.finfo(x.dtype).tiny), NEG_INF).exp_()
            torch.sum(x, 1, out=out)
            out.log_().add_(m)

    def max_product(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
                    log_w: torch.Tensor | None) -> None:
        # in the reused work memory: fresh large tensors cost page faults on every block
        terms = scratch.gather(buf, self.index)
        terms.add_(log_w[:, :, None])  # type: ignore[index]
        torch.amax(terms, 1, out=out)


class DenseOp(BlockOp):
    """log-einsum-exp: subtract each group's max input, one batched matmul, log, add it back."""

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        x = inputs[0]                                             # (G, F, B)
        G, F, B = x.shape
        m = max_shift(x, 1)
        s = torch.bmm(torch.exp(log_w).reshape(G, -1, F), torch.exp(x - m))  # type: ignore[arg-type]
        return (safe_log(s) + m).reshape(-1, B)

    def max_product(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
                    log_w: torch.Tensor | None) -> None:
        x = gather(buf, self.index)                               # (G, F, B)
        G, F, B = x.shape
        out.copy_((x[:, None] + log_w.view(G, -1, F, 1)).amax(2).reshape(-1, B))  # type: ignore[union-attr]


SMALL_FAN_IN = 16  # pairwise log-add-exps beat exp-sum-log (fewer passes) up to here


class Scratch:
    """Reusable work memory for the forward pass. Fresh large tensors cost page faults on every
    allocation (they are mmap'ed and returned), which made the gathers several times slower
    than the arithmetic; one flat tensor, grown on demand, avoids that."""

    def __init__(self) -> None:
        self.flat: torch.Tensor | None = None
        self.small: torch.Tensor | None = None
        self.buffer: torch.Tensor | None = None

    @staticmethod
    def _grow(t: torch.Tensor | None, like: torch.Tensor, n: int) -> torch.Tensor:
        if t is None or t.numel() < n or t.dtype != like.dtype or t.device != like.device:
            t = like.new_empty(n)
        return t

    def gather(self, buf: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        n = index.numel() * buf.shape[1]
        self.flat = self._grow(self.flat, buf, n)
        out = self.flat[:n].view(index.numel(), buf.shape[1])
        torch.index_select(buf, 0, index.reshape(-1), out=out)
        return out.view(*index.shape, buf.shape[1])

    def rows(self, shape: torch.Size) -> torch.Tensor:
        n = shape[0] * shape[1]
        self.small = self._grow(self.small, self.flat, n)  # type: ignore[arg-type]
        return self.small[:n].view(shape)

    def release(self) -> None:
        """Drop the reused activation buffer (a pass with a backward allocates its own)."""
        self.buffer = None

    def activation(self, like: torch.Tensor, shape: tuple[int, int], reuse: bool) -> torch.Tensor:
        """The (columns, batch) buffer; reused across calls only when no backward will read it."""
        if not reuse:
            return like.new_empty(shape)
        n = shape[0] * shape[1]
        self.buffer = self._grow(self.buffer, like, n)
        return self.buffer[:n].view(shape)


def run_blocks(program: "Program", buf: torch.Tensor, log_ws: list[torch.Tensor | None],
               semiring: str = "sum-product") -> None:
    """Every block in order over the (columns, batch) buffer, whose constant and leaf rows
    are written (`Program.buffer`); `semiring` "max-product" takes each sum's max."""
    max_product = semiring == "max-product"
    for block, log_w in zip(program.blocks, log_ws):
        out = buf[block.start:block.stop]
        if max_product:
            block.max_product(buf, out, program.scratch, log_w)
        else:
            block.fast(buf, out, program.scratch, log_w)


class LeafGradients:
    """What gives the gradients of the leaves' parameters in `Evaluate`'s backward, from the
    gradient of the leaf rows: `params`, the parameters it differentiates (in the order
    `backward` returns their gradients). The forward pass writes the leaf rows into the
    buffer without autograd, so no (leaf units, batch) tensor outlives it."""

    params: list[torch.Tensor]

    def backward(self, grad_leaves: torch.Tensor) -> list[torch.Tensor | None]:
        raise NotImplementedError


class Evaluate(torch.autograd.Function):
    """(buffer, leaves, leaf gradients, *log-weights, *leaf parameters) -> root values; see
    the module docstring for the backward pass. The buffer's constant and leaf rows hold their
    values already. `leaves`, when not None, is a tensor whose gradient the backward gives
    (the leaf rows, tapped by EM); `source`, when not None, is a `LeafGradients` that turns
    the leaf rows' gradient into that of its `params`, passed last."""

    @staticmethod
    def forward(ctx, program: "Program", buf: torch.Tensor,  # type: ignore[override]
                leaves: torch.Tensor | None, source: LeafGradients | None,
                *tensors: torch.Tensor) -> torch.Tensor:
        log_ws = tensors[:len(program.weighted)]
        run_blocks(program, buf, program.expand(log_ws))
        ctx.program, ctx.buf, ctx.source = program, buf, source
        ctx.save_for_backward(*log_ws)
        start, stop = program.root
        return buf[start:stop].t().clone()  # a copy: the buffer may be reused by the next call

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        program, buf, source = ctx.program, ctx.buf, ctx.source
        if buf is None:
            raise RuntimeError("pcc: a second backward through one forward pass (retain_graph) "
                               "is not supported: its buffer holds the first one's gradients")
        ctx.buf = ctx.source = None
        log_ws = program.expand(ctx.saved_tensors)
        # the buffer becomes the gradient buffer; the values the blocks' backwards still read
        # are copied out first (every block's outputs, and the inputs of blocks other than
        # products: the leaf rows, most of the buffer, are read by products only)
        values = program.values(buf)
        grad_buf = buf.zero_()
        start, stop = program.root
        grad_buf[start:stop] += grad.t()
        grad_ws: list[torch.Tensor | None] = [None] * len(program.blocks)
        for i in range(len(program.blocks) - 1, -1, -1):
            block, log_w = program.blocks[i], log_ws[i]
            # a unit of probability zero passes no gradient down: it would be 0 * inf = NaN
            g = grad_buf[block.start:block.stop]
            g = torch.where(values[block.start:block.stop] == NEG_INF, 0.0, g)
            grad_ws[i] = block.backward_into(values, grad_buf, log_w, g)
        del values  # the leaves' parameter gradients need only the leaf rows' gradient
        first = NEG_INF_COLUMN + 1
        grad_leaves = grad_buf[first:first + program.num_leaves]
        grad_params = source.backward(grad_leaves) if source is not None else []
        return (None, None, grad_leaves if ctx.needs_input_grad[2] else None, None,
                *[grad_ws[i] for i in program.weighted], *grad_params)


class Program:
    """What `Evaluate` needs: the block modules in order, which of them have weights, the buffer
    size and the root's columns. Holds no tensors of its own (the modules do)."""

    def __init__(self, blocks: list[BlockOp], columns: int, root: tuple[int, int],
                 num_leaves: int):
        self.blocks, self.columns, self.root = blocks, columns, root
        self.num_leaves = num_leaves
        self._scratch = threading.local()
        self.weighted = [i for i, b in enumerate(blocks) if b.table is not None]
        self.work_per_row = max([b.work_per_row() for b in blocks] or [0])
        self.saved_columns = _saved_columns(blocks, columns)
        self._offset = np.full(columns, -1, dtype=np.int64)
        self._offset[self.saved_columns] = np.arange(len(self.saved_columns))
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def scratch(self) -> Scratch:
        """This thread's reused work memory: two threads calling one model share none."""
        scratch = getattr(self._scratch, "value", None)
        if scratch is None:
            scratch = self._scratch.value = Scratch()
        return scratch

    def values(self, buf: torch.Tensor) -> Values:
        """The `saved_columns` of a filled (columns, batch) buffer, copied out."""
        if buf.device not in self._on_device:  # index tensors made once per device
            self._on_device[buf.device] = (torch.as_tensor(self.saved_columns, device=buf.device),
                                           torch.as_tensor(self._offset, device=buf.device))
        saved, remap = self._on_device[buf.device]
        return Values(buf, saved, remap, self._offset)

    def buffer(self, like: torch.Tensor, batch: int, reuse: bool
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the (columns, batch) activation buffer with its constant rows written, the view of
        its leaf rows): the leaves are written there in place, never copied in. `reuse`: the
        one kept across calls (no backward or caller will read it after the next pass)."""
        buf = self.scratch.activation(like, (self.columns, batch), reuse)
        buf[ZERO_COLUMN] = 0.0
        buf[NEG_INF_COLUMN] = NEG_INF
        first = NEG_INF_COLUMN + 1
        return buf, buf[first:first + self.num_leaves]

    def expand(self, log_ws: tuple[torch.Tensor, ...]) -> list[torch.Tensor | None]:
        full: list[torch.Tensor | None] = [None] * len(self.blocks)
        for i, w in zip(self.weighted, log_ws):
            full[i] = w
        return full


def _saved_columns(blocks: list[BlockOp], columns: int) -> np.ndarray:
    """The columns whose values the backward pass reads (sorted): every block's outputs (the
    zero-gradient mask of units of value log 0; sums read their shares there) and the inputs
    of every block whose backward reads its inputs' values (`reads_inputs`)."""
    saved = np.zeros(columns, dtype=bool)
    for block in blocks:
        saved[block.start:block.stop] = True
        if block.reads_inputs:
            for index in block.indices():
                saved[index.cpu().numpy().ravel()] = True
    return np.flatnonzero(saved)
