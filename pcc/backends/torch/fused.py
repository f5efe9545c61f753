"""The CPU forward pass with the native kernel: products fused into the sums that read them.

In a sparse circuit most products (a PSDD's elements, an SPN's factorizations) are read only by
sums. Here every product column is also known by its *parts*: the columns that add up to its
value (a product of products flattened, up to `MAX_PARTS`). A kernel sum reads its inputs'
parts and adds them on the fly, so a product row is computed only when something else reads it
as a column (a product too wide to flatten, an einsum, a sum too wide for the kernel, the
root): in plants.psdd 28% of the product rows, in the MNIST circuit 0.1%, in msweb none. Used
without autograd only (the backward pass reads every unit's value from the buffer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pcc.backends.torch.blocks import BlockOp, ProductOp, Program, SumOp
from pcc.backends.torch.native import SumKernel
from pcc.backends.torch.params import NEG_INF
from pcc.layering import NEG_INF as NEG_INF_COLUMN
from pcc.layering import ZERO as ZERO_COLUMN

MAX_PARTS = 4  # wider products stay columns of their own (padding every input to them costs more)


@dataclass(frozen=True)
class Step:
    """Block `position` of the program, run one of three ways: by its own op (`index` None); by
    the kernel (`op` a sum, `index` (rows, fan-in, parts) buffer columns); or as native product
    rows (`index` (rows, parts): each row the sum of its columns, written to `columns`, or to
    the block's own rows when `columns` is None)."""
    position: int
    op: BlockOp
    index: torch.Tensor | None = None
    columns: torch.Tensor | None = None


def fused_steps(program: Program, max_fan_in: int) -> list[Step]:
    """The program's blocks as steps: kernel sums reading flattened products, and only those
    product rows that something other than a kernel sum reads (or that are too wide)."""
    blocks = program.blocks
    by_kernel = [isinstance(op, SumOp) and op.index.shape[1] <= max_fan_in for op in blocks]
    # every column as the parts that add up to its value: itself, or for a product the parts
    # of its children (a product of products flattened), while they are at most MAX_PARTS
    parts = np.full((program.columns, MAX_PARTS), ZERO_COLUMN, dtype=np.int64)
    parts[:, 0] = np.arange(program.columns)
    width = np.ones(program.columns, dtype=np.int64)
    flat: dict[int, np.ndarray] = {}
    for position, op in enumerate(blocks):
        if isinstance(op, ProductOp):
            index = op.index.cpu().numpy()
            entries = parts[index].reshape(len(index), -1)
            live = entries != ZERO_COLUMN
            count = live.sum(1)
            packed = np.take_along_axis(entries, np.argsort(~live, 1, kind="stable"), 1)
            fits = flat[position] = count <= MAX_PARTS
            columns = np.arange(op.start, op.stop)[fits]
            parts[columns] = packed[fits, :MAX_PARTS]
            width[columns] = np.maximum(count[fits], 1)
    needed = np.zeros(program.columns, dtype=bool)  # read as a column, not through its parts
    needed[slice(*program.root)] = True
    for position, op in enumerate(blocks):
        if isinstance(op, ProductOp):
            needed[op.index.cpu().numpy()[~flat[position]].ravel()] = True
        elif not by_kernel[position]:
            for read in op.indices():
                needed[read.cpu().numpy().ravel()] = True
    steps = []
    for position, op in enumerate(blocks):
        index = op.index.cpu().numpy()
        if by_kernel[position]:
            used = int(width[index].max())
            steps.append(Step(position, op, torch.from_numpy(parts[index][:, :, :used].copy())))
        elif isinstance(op, ProductOp) and flat[position].any():
            fits, rows = flat[position], np.arange(op.start, op.stop)
            compute = ~fits | needed[rows]
            if not compute.any():
                continue
            wide = max(index.shape[1], MAX_PARTS)
            rows_index = np.full((len(rows), wide), ZERO_COLUMN, dtype=np.int64)
            rows_index[fits, :MAX_PARTS] = parts[rows[fits]]
            rows_index[~fits, :index.shape[1]] = index[~fits]
            used = int(np.where(fits, width[rows], index.shape[1])[compute].max())
            rows_index = rows_index[compute, :used]
            columns = None if compute.all() else torch.from_numpy(rows[compute])
            steps.append(Step(position, op, torch.from_numpy(rows_index.copy()), columns))
        else:
            steps.append(Step(position, op))
    return steps


class FusedPass:
    """The steps of `fused_steps`, run over the (columns, batch) buffer: kernel sums, native
    product rows, and the blocks' own ops for the rest (whose work memory a batch needs)."""

    def __init__(self, program: Program, kernel: SumKernel):
        self.kernel = kernel
        self.steps = fused_steps(program, kernel.max_fan_in)
        self.work_per_row = max([s.op.work_per_row() for s in self.steps if s.index is None] or
                                [0])

    def run(self, program: Program, log_ws: list[torch.Tensor | None], buf: torch.Tensor) -> None:
        """Fill the buffer, whose leaf rows are written already."""
        buf[ZERO_COLUMN] = 0.0
        buf[NEG_INF_COLUMN] = NEG_INF
        for step in self.steps:
            op, log_w = step.op, log_ws[step.position]
            if step.index is None:
                op.fast(buf, buf[op.start:op.stop], program.scratch, log_w)
            elif isinstance(op, SumOp):
                self.kernel.sums(buf, step.index, log_w.contiguous(),  # type: ignore[union-attr]
                                 buf[op.start:op.stop])
            else:
                self.kernel.products(buf, step.index, step.columns, op.start)
