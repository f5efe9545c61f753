"""The CPU forward pass with the native kernel: products fused into the sums that read them.

In a sparse circuit most products (a PSDD's elements, an SPN's factorizations) are read only by
sums. Here every product column is also known by its *parts*: the columns that add up to its
value (a product of products flattened, up to `MAX_PARTS`). A kernel sum reads its inputs'
parts and adds them on the fly, so a product row is computed only when something else reads it
as a column (a product too wide to flatten, an einsum, a sum too wide for the kernel, the
root): in plants.psdd 28% of the product rows, in the MNIST circuit 0.1%, in msweb none. The
native engine's forward (here, or tiled: `tiled.py`) and its backward (`flows.py`, whose flows
pass straight to the parts) both run these steps; max-product (`max_product`) writes every
column instead, since MPE's backtrack reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pcc.backends.torch.blocks import BlockOp, ProductOp, Program, SumOp
from pcc.backends.native.library import SumKernel
from pcc.layering import ZERO as ZERO_COLUMN

MAX_PARTS = 4  # wider products stay columns of their own (padding every input to them costs more)


@dataclass(frozen=True)
class Step:
    """Block `position` of the program, run one of four ways: by its own op (`index` None); by
    the kernel (`op` a sum, `index` (rows, fan-in, parts) buffer columns); as native product
    rows (`index` (rows, parts): each row the sum of its columns, written to `columns`, or to
    the block's own rows when `columns` is None); or, for a sum of leaves of one variable per
    row (`var` that variable), as a lookup in a table of its values per code (`index` (rows,
    fan-in) leaf columns)."""
    position: int
    op: BlockOp
    index: torch.Tensor | None = None
    columns: torch.Tensor | None = None
    var: torch.Tensor | None = None


def fused_steps(program: Program, max_fan_in: int | None = None) -> list[Step]:
    """The program's blocks as steps: kernel sums reading flattened products, and only those
    product rows that something other than a kernel sum reads (or that are too wide)."""
    blocks = program.blocks
    by_kernel = [isinstance(op, SumOp) and (max_fan_in is None or op.index.shape[1] <= max_fan_in)
                 for op in blocks]
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
        elif isinstance(op, ProductOp):  # native rows (embedding_bag took 1.7 ns per input)
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


def fold_leaf_sums(steps: list[Step], column_vars: np.ndarray) -> list[Step]:
    """Kernel sums whose every input is one leaf column, all of one variable per row (a sum of
    indicators, say: a categorical in disguise), as lookup steps. `column_vars` gives the
    variable of each leaf column and -1 for the constant columns before them."""
    folded = []
    for step in steps:
        index = step.index
        if step.var is None and index is not None and index.dim() == 3 and index.shape[2] == 1:
            columns = index[:, :, 0].numpy()
            if columns.max() < len(column_vars):
                var = column_vars[columns]
                first = var.max(1)                  # the row's variable (constants are -1)
                if ((var == first[:, None]) | (var < 0)).all():
                    folded.append(Step(step.position, step.op, torch.from_numpy(columns.copy()),
                                       var=torch.from_numpy(np.maximum(first, 0))))
                    continue
        folded.append(step)
    return folded


def leaf_sum_values(log_w: torch.Tensor, tables: torch.Tensor, index: torch.Tensor
                    ) -> torch.Tensor:
    """A folded sum of leaves (`fold_leaf_sums`) as its value per code of its variable,
    (rows, codes): log sum_f w_f p_f(code), from the leaf columns' value `tables`."""
    return torch.logsumexp(log_w[:, :, None] + tables[index], 1).contiguous()


class FusedPass:
    """The steps of `fused_steps`, run over the (columns, batch) buffer: kernel sums, native
    product rows, and the blocks' own ops for the rest (whose work memory a batch needs)."""

    def __init__(self, program: Program, kernel: SumKernel, column_vars: np.ndarray | None,
                 max_fan_in: int | None = None):
        self.kernel = kernel
        self.steps = fused_steps(program, max_fan_in)
        if column_vars is not None:  # every leaf looked up by its variable's code
            self.steps = fold_leaf_sums(self.steps, column_vars)
        self.lookups = any(step.var is not None for step in self.steps)
        self.work_per_row = max([s.op.work_per_row() for s in self.steps if s.index is None] or
                                [0])

    def run(self, program: Program, log_ws: list[torch.Tensor | None], buf: torch.Tensor,
            codes: torch.Tensor | None = None, tables: torch.Tensor | None = None) -> None:
        """Fill the buffer, whose constant and leaf rows are written already (`Program.buffer`).
        Lookup steps need the (vars, batch) `codes` and every leaf column's (columns, codes)
        value `tables`."""
        for step in self.steps:
            op, log_w = step.op, log_ws[step.position]
            if step.var is not None:  # each row's value per code of its variable, looked up
                assert codes is not None and tables is not None and log_w is not None
                assert step.index is not None
                values = leaf_sum_values(log_w, tables, step.index)
                self.kernel.lookup(values, codes, step.var, buf[op.start:op.stop])
            elif step.index is None:
                op.fast(buf, buf[op.start:op.stop], program.scratch, log_w)
            elif isinstance(op, SumOp):
                self.kernel.sums(buf, step.index, log_w.contiguous(),  # type: ignore[union-attr]
                                 buf[op.start:op.stop])
            else:
                self.kernel.products(buf, step.index, step.columns, op.start)


def max_product(program: Program, log_ws: list[torch.Tensor | None], buf: torch.Tensor,
                kernel: SumKernel) -> None:
    """The max-product pass of the native engine over every block, every column written (the
    backtrack of MPE reads them all): sums and products by the kernel, other blocks (einsums)
    by their torch op. The buffer's constant and leaf rows hold their values already."""
    for op, log_w in zip(program.blocks, log_ws):
        out = buf[op.start:op.stop]
        if isinstance(op, SumOp):
            assert log_w is not None
            kernel.maxes(buf, op.index.unsqueeze(2), log_w.contiguous(), out)
        elif isinstance(op, ProductOp):
            kernel.products(buf, op.index, None, op.start)
        else:
            op.max_product(buf, out, program.scratch, log_w)
