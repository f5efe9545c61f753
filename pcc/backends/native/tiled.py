"""The CPU forward pass without autograd as one native call (`tile_kernel.c`), a tile of examples
at a time.

The steps are those of the fused pass (`fused.py`: kernel sums that add fused products' parts,
product rows, lookups of sums of leaves) preceded by one step per input family (the leaf
kernel's Gaussians and histograms, value-table lookups for families of finite domains, or rows
evaluated beforehand by the family's torch module). The C side runs every step on a tile of
examples before moving to the next, so the (columns, tile) buffer stays in cache and Python is
called once per batch, not once per block. Everything the steps read that depends only on the
parameters (log-weights, value tables, Gaussian and histogram arrays) is made once per
parameter state: a call with unchanged parameters does no torch work but the data's.
Circuits with einsum blocks keep the fused pass (their blocks are torch ops).

The buffer holds only the columns that are read as columns (`Columns`): a leaf read by one
product row and nothing else is evaluated inside that product's step, added straight into the
product's row, and never stored (an SPN's factorizations read most of its leaves so: all 1,320
of the Gaussian breast-cancer model's leaf rows), and leaves or products that nothing reads are
dropped. Fewer columns make larger tiles, and no leaf value is written and read back.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np
import torch

import pcc.backends.native.leaves as native_leaves
from pcc.backends.torch.blocks import ProductOp, SumOp
from pcc.backends.native.fused import FusedPass, leaf_sum_values
from pcc.backends.torch.leaf_rows import LeafRows
from pcc.backends.native.library import SumKernel, interface, step_type
from pcc.data.tensors import DomainTable, OutsideDomain
from pcc.layering import NEG_INF_COLUMN

# the step record and its kinds as pcc_native.h declares them
KINDS = {name.lower(): value for name, value in interface().kinds.items()}
Step = step_type()
TILE_BYTES = 1 << 19   # the tile's buffer: about the size of one core's L2 cache
MIN_TILE, MAX_TILE = 64, 512  # whole tiles of the sum kernel's inner loop (64 examples)
MAX_BUFFER_BYTES = 8 << 20  # nltcs.psdd (7k columns, 1.8 MB tiles) gained 20%, plants lost 15%
UNREAD = np.iinfo(np.int64).min  # a column no step reads as a column (never in an index)


class Columns:
    """The tiled pass's buffer columns: the plan's columns that are read as columns, renumbered
    in order (the constant columns first, as in the plan). A leaf row read only by one product
    row, of a family the kernels evaluate, is read in place by that product instead; leaf rows
    nothing reads (sums of leaves folded into lookups read value tables) are not stored.
    Everything is made from the structure, once."""

    def __init__(self, fused: FusedPass, leaf_rows: LeafRows, in_kernel: list[bool],
                 columns: int, root: tuple[int, int]):
        first = NEG_INF_COLUMN + 1
        sizes = [len(family.var) for family in leaf_rows.families]
        bounds = np.cumsum([first] + sizes)
        reads = np.zeros(columns, dtype=np.int64)
        by_products = np.zeros(columns, dtype=np.int64)
        keep = np.zeros(columns, dtype=bool)
        keep[:first] = keep[slice(*root)] = True
        for step in fused.steps:
            op, index = step.op, step.index
            assert index is not None
            if isinstance(op, SumOp):        # kernel sums and folded lookups: every row
                keep[op.start:op.stop] = True
            else:
                keep[np.arange(op.start, op.stop) if step.columns is None
                     else step.columns.numpy()] = True
            if step.var is None:             # folded lookups read value tables, not columns
                read = index.numpy().ravel()
                np.add.at(reads, read, 1)
                if isinstance(op, ProductOp):
                    np.add.at(by_products, read, 1)
        leaf = np.zeros(columns, dtype=bool)
        in_place = np.zeros(columns, dtype=bool)
        for f, evaluated in enumerate(in_kernel):
            rows = slice(int(bounds[f]), int(bounds[f + 1]))
            leaf[rows] = True
            if evaluated:
                in_place[rows] = (reads[rows] == 1) & (by_products[rows] == 1)
            else:                            # rows copied in whole: all kept
                keep[rows] = True
        in_place &= ~keep                    # the root, say
        keep |= leaf & (reads > 0) & ~in_place
        self.count = int(keep.sum())
        new = np.where(keep, np.cumsum(keep) - 1, -1)
        placed = np.flatnonzero(in_place)
        family = np.searchsorted(bounds, placed, side="right") - 1
        self.leaves = torch.from_numpy(np.stack([family, placed - bounds[family]], 1).copy())
        self._read = np.where(keep, new, UNREAD)
        self._read[placed] = -1 - np.arange(len(placed))  # read in place: leaf j is -1 - j
        self._stored = new
        self.root = (int(new[root[0]]), int(new[root[0]]) + root[1] - root[0])
        # per leaf step: (start, None) for rows stored in order, else (0, each row's column)
        self.leaf_columns = [self._placement(new[int(bounds[f]):int(bounds[f + 1])])
                             for f in range(len(sizes))]

    @staticmethod
    def _placement(rows: np.ndarray) -> tuple[int, torch.Tensor | None]:
        if len(rows) and rows[0] >= 0 and (rows == rows[0] + np.arange(len(rows))).all():
            return int(rows[0]), None
        return 0, torch.from_numpy(rows.copy())

    def index(self, index: torch.Tensor) -> torch.Tensor:
        """A step's index in the new columns (leaves read in place as -1 - j)."""
        mapped = self._read[index.numpy()]
        assert (mapped != UNREAD).all(), "a step reads a column that is not stored"
        return torch.from_numpy(mapped.copy())

    def column(self, column: int) -> int:
        return int(self._stored[column])

    def columns(self, columns: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._stored[columns.numpy()].copy())


class TiledPass:
    """A program for `run_program`, bound to one parameter state at a time (`bind`)."""

    def __init__(self, fused: FusedPass, leaf_rows: LeafRows, columns: int,
                 root: tuple[int, int], num_vars: int, kernel: SumKernel):
        self.fused, self.leaf_rows, self.kernel = fused, leaf_rows, kernel
        self.num_vars = num_vars
        # (parameter state, `Step` records, every tensor they point into), replaced whole
        self.bound: tuple[int, Any, list[torch.Tensor]] | None = None
        # families evaluated beforehand, per call, by their torch module
        self.by_rows = [not tabled and not native_leaves.evaluates(family)
                        for family, tabled in zip(leaf_rows.families, leaf_rows.tabled)]
        self.layout = Columns(fused, leaf_rows, [not b for b in self.by_rows], columns, root)
        self.columns, self.root = self.layout.count, self.layout.root
        # each step's index in the tiled columns (folded lookups keep theirs: leaf columns of
        # the value tables)
        self.indexes = [step.index if step.var is not None else
                        self.layout.index(step.index)  # type: ignore[arg-type]
                        for step in fused.steps]
        self.rows_steps: list[tuple[int, int]] = []  # (step, family) of those
        self.uses_codes = False
        self.work = threading.local()  # each thread's work memory, kept across calls

    @staticmethod
    def possible(fused: FusedPass, columns: int, itemsize: int) -> bool:
        """Whether every block of the fused pass is a native step (no einsum block) and the
        smallest tile's buffer stays within MAX_BUFFER_BYTES (beyond, tiles lose the cache
        and the fused pass over the whole batch streams better: plants.psdd, 109k columns,
        ran 15% slower in tiles of 64)."""
        return (columns * MIN_TILE * itemsize <= MAX_BUFFER_BYTES and
                all(step.index is not None for step in fused.steps))

    def bind(self, state: int, log_ws: list[torch.Tensor | None], dtype: torch.dtype) -> None:
        """Build the step array for the current parameters (`state` names them: nothing is
        rebuilt while it is unchanged); `log_ws` as `Program.expand` gives them."""
        if self.bound is not None and self.bound[0] == state:
            return
        keep: list[torch.Tensor] = []

        def ptr(t: torch.Tensor | None) -> int:
            if t is None:
                return 0
            assert t.is_contiguous()
            keep.append(t)
            return t.data_ptr()

        steps: list[Any] = []
        self.rows_steps, self.uses_codes = [], False
        k = self.leaf_rows.table_k
        for f, (family, tabled) in enumerate(zip(self.leaf_rows.families, self.leaf_rows.tabled)):
            units = len(family.var)
            leaf = None if tabled or self.by_rows[f] else native_leaves.native_leaf(family, dtype)
            start, columns = self.layout.leaf_columns[f]
            step = Step(rows=units, start=start, var=ptr(family.var), columns=ptr(columns))
            if tabled:
                table = family.value_table(k).to(dtype).contiguous()
                step.kind, step.values, step.width = KINDS["lookup"], ptr(table), k + 1
                self.uses_codes = True
            elif self.by_rows[f]:
                step.kind = KINDS["rows"]
                self.rows_steps.append((len(steps), f))
            else:
                assert leaf is not None
                a = leaf.arrays
                step.kind = KINDS[leaf.kind]
                if leaf.kind == "gaussian":
                    step.a, step.b, step.c = ptr(a["mean"]), ptr(a["inv_std"]), ptr(a["offset"])
                else:
                    density = a["log_density"]
                    step.values, step.width = ptr(density), density.shape[1]
                    step.bins = ptr(a["bins"])
                    step.a = ptr(a["first"] if leaf.kind == "unit_bins" else a["breaks"])
            steps.append(step)
        tables = None
        for fused_step, index in zip(self.fused.steps, self.indexes):
            op, log_w = fused_step.op, log_ws[fused_step.position]
            assert index is not None
            step = Step(rows=index.shape[0], start=self.layout.column(op.start),
                        index=ptr(index))
            if fused_step.var is not None:  # a sum of one variable's leaves, by its codes
                assert log_w is not None
                if tables is None:
                    tables = self.leaf_rows.column_tables(dtype, index.device)
                values = leaf_sum_values(log_w, tables, index)
                step.kind, step.values, step.width = KINDS["lookup"], ptr(values), values.shape[1]
                step.var, step.index = ptr(fused_step.var), 0  # a lookup reads no columns
                self.uses_codes = True
            elif log_w is not None:
                step.kind, step.fan_in, step.parts = KINDS["sum"], index.shape[1], index.shape[2]
                step.values = ptr(log_w.contiguous())
            else:
                step.kind, step.parts = KINDS["product"], index.shape[1]
                if fused_step.columns is not None:
                    step.columns = ptr(self.layout.columns(fused_step.columns))
                if bool((index < 0).any()):
                    step.leaves = ptr(self.layout.leaves)
            steps.append(step)
        self.bound = (state, (Step * len(steps))(*steps), keep)

    def bytes_per_row(self, itemsize: int) -> int:
        """Memory one example needs in a call (outside the fixed tile buffers): its data and
        mask, its root values, and the rows of families evaluated beforehand."""
        rows = sum(len(family.var) for family, by_rows in zip(self.leaf_rows.families,
                                                               self.by_rows) if by_rows)
        return self.num_vars * 9 + (self.root[1] - self.root[0] + rows) * itemsize

    def tile(self, itemsize: int) -> int:
        """Examples per tile: the buffer within TILE_BYTES, a multiple of 64."""
        fit = TILE_BYTES // (self.columns * itemsize) // MIN_TILE * MIN_TILE
        return min(MAX_TILE, max(MIN_TILE, fit))

    def run(self, x: torch.Tensor, missing: torch.Tensor, dtype: torch.dtype,
            domains: DomainTable | None = None) -> torch.Tensor:
        """(rows, root units) root values of the bound program for `x`, `missing` as
        `domains.prepare` gives them (CPU). With `domains` the kernel checks every value that
        is not missing against its variable's domain as it reads it (so `prepare` need not),
        and a value outside raises `OutsideDomain` (`domains.explain` names it)."""
        assert self.bound is not None, "bind first"
        # a copy of the records: the rows of families evaluated beforehand are this call's
        steps = type(self.bound[1]).from_buffer_copy(self.bound[1])
        batch = x.shape[0]
        start, stop = self.root
        out = torch.empty((batch, stop - start), dtype=dtype)
        if batch == 0:
            return out
        x = x.contiguous()
        missing = missing.contiguous()
        # numpy's any of a CPU mask: torch's took 0.5 ms for 10,000 x 64 entries, numpy's 0.03
        mask = missing if bool(missing.numpy().any()) else None
        rows = []  # the values of families the kernels do not evaluate, alive for the call
        for position, f in self.rows_steps:
            rows.append(self.leaf_rows.families[f](x, missing).to(dtype).contiguous())
            steps[position].values = rows[-1].data_ptr()
        itemsize = out.element_size()
        tile = min(self.tile(itemsize), -(-batch // MIN_TILE) * MIN_TILE)
        # the tile's buffer, then its values and a row of sums (float64), codes (int32) and
        # mask (bytes)
        work_bytes = self.columns * tile * itemsize + self.num_vars * tile * 13 + tile * 8
        function = self.kernel.functions["run_program", dtype]
        code_k = self.leaf_rows.table_k if self.uses_codes else -1
        tiles = -(-batch // tile)
        bounds = [0, 0, 0] if domains is None else \
            [a.ctypes.data for a in (domains.low, domains.high, domains.whole)]
        failed: list[int] = []   # the first example outside its domains, per thread

        def part(first: int, last: int) -> None:
            work = self._work(work_bytes)  # each thread its own
            bad = function(steps, len(steps), x.data_ptr(),
                           0 if mask is None else mask.data_ptr(), batch, self.num_vars,
                           first * tile, min(last * tile, batch), tile, self.columns, code_k,
                           work.data_ptr(), start, stop - start, out.data_ptr(), *bounds)
            if bad >= 0:
                failed.append(bad)

        self.kernel.split(tiles, tiles * tile * self.columns, part)
        if failed:
            raise OutsideDomain(min(failed))
        return out

    def _work(self, nbytes: int) -> torch.Tensor:
        """This thread's work memory (kept across calls: fresh pages cost faults)."""
        work = getattr(self.work, "tensor", None)
        if work is None or work.numel() * 8 < nbytes:
            work = self.work.tensor = torch.empty(-(-nbytes // 8), dtype=torch.float64)
        return work
