"""The native engine's backward pass: flows.

From the forward's (columns, batch) values, one downward pass gives every column's gradient
d(sum_b grad_b * root_b) / d(value) (Juice.jl's and pyjuice's "flows" when the root's gradient
is 1) and every sum weight's, summed over the batch: a kernel sum passes each input's share of
its row (exp(log w + input - row)) times the row's gradient to the input's parts, a product row
passes its gradient to its parts. The program is the forward's (`FusedPass` steps, products
fused into the sums that read them), so a product only sums read is never stored, and its
gradient never either. Where every step is native (kernel sums, product rows) the whole
program runs in C a tile of examples at a time, values and flows in cache (`flow_tiles`);
otherwise runs of native steps are one C call each (`flow_program`) over a whole-batch buffer,
and the other blocks (einsums, dense sums) use their torch modules' backward in between.

`NativeEvaluate` wraps forward and backward as one autograd function, so `loss.backward()`
(Adam) runs on it; EM's E-step takes the flows without autograd (`CompiledCircuit.flows`: its
expected counts are the log-weights' flows).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from pcc.backends.native.fused import FusedPass
from pcc.backends.native.library import SumKernel, interface, step_type
from pcc.backends.torch.blocks import LeafGradients, Program, SumOp
from pcc.backends.torch.params import NEG_INF
from pcc.layering import NEG_INF_COLUMN

KINDS = interface().kinds
Step = step_type()


# a tile's values and flows together (kdd-6k.psdd: 1 MB tiles of 16 examples ran 1.5x slower
# than 4 MB tiles of 96, 8 MB as fast)
TILE_BYTES = 1 << 22
MIN_TILE, MAX_TILE = 16, 512


class FlowProgram:
    """The backward of a `FusedPass`'s steps: `segments` in forward order, each a run of steps
    the C side differentiates (kernel sums, product rows) or one step run by its torch op.
    `tiled`: every step is native, and forward and backward run a tile of examples at a time
    from the leaf rows (`flow_tiles`): no buffer for the whole batch is kept (a backward that
    cannot reuse the forward's flows computes each tile's values again)."""

    def __init__(self, fused: FusedPass, kernel: SumKernel, program: Program):
        self.fused, self.kernel, self.program = fused, kernel, program
        self.segments: list[tuple[bool, list[Any]]] = []
        for step in fused.steps:
            native = step.index is not None
            if native and self.segments and self.segments[-1][0]:
                self.segments[-1][1].append(step)
            else:
                self.segments.append((native, [step]))
        self.tiled = all(native for native, _ in self.segments)
        # tiled: the step records made once; a call fills in its log-weights and gradients
        self.records: Any = None
        self.sums: list[tuple[int, int, tuple[int, ...]]] = []  # (record, position, shape)
        if self.tiled and self.segments:
            steps = self.segments[0][1]
            self.records, _ = self._records(steps, [None] * len(program.blocks), None)
            self.sums = [(r, step.position, (step.index.shape[0], step.index.shape[1]))
                         for r, step in enumerate(steps) if isinstance(step.op, SumOp)]
        sizes = [rows * fan_in for _, _, (rows, fan_in) in self.sums]
        self.offsets = np.cumsum([0] + sizes[:-1]).tolist()  # in one flat vector of them all
        self.weights = sum(sizes)
        self.work = threading.local()

    # -- a tile at a time, every step native ---------------------------------------------------
    def tile(self, itemsize: int, batch: int) -> int:
        """Examples per tile: values and flows within TILE_BYTES."""
        fit = TILE_BYTES // (2 * self.program.columns * itemsize) // MIN_TILE * MIN_TILE
        return min(MAX_TILE, max(MIN_TILE, fit), max(batch, 1))

    def run_tiles(self, leaves: torch.Tensor, log_ws: list[torch.Tensor | None],
                  grad_root: torch.Tensor | None = None, values: bool = True,
                  counts: list[torch.Tensor | None] | None = None
                  ) -> tuple[torch.Tensor | None, torch.Tensor | None,
                             list[torch.Tensor | None]]:
        """From the (leaves, batch) leaf rows: the (batch, root units) root values (when
        `values`) and, for the root's gradient `grad_root` (batch, root units), the leaf rows'
        gradient and each block's log-weight gradient (by position, float64), in one pass.
        `counts` (by position, float64, contiguous) are added to instead of new tensors."""
        program = self.program
        # a copy of the records per call: calls from two threads never share one
        records: Any = None if self.records is None else \
            type(self.records).from_buffer_copy(self.records)
        batch, dtype = leaves.shape[1], leaves.dtype
        start, stop = program.root
        backward = grad_root is not None
        grad_ws: list[torch.Tensor | None] = list(counts) if counts is not None else \
            [None] * len(log_ws)
        keep = []
        # the weight gradients made here: one float64 tensor, cut into each table's
        made = torch.zeros(sum(r * f for _, position, (r, f) in self.sums
                               if grad_ws[position] is None) if backward else 0,
                           dtype=torch.float64)
        offset = 0
        for r, position, shape in self.sums:
            log_w = log_ws[position]
            assert log_w is not None and log_w.shape == shape
            if not log_w.is_contiguous() or log_w.requires_grad:
                log_w = log_w.detach().contiguous()
                keep.append(log_w)
            records[r].values = log_w.data_ptr()
            if backward:
                out = grad_ws[position]
                if out is None:
                    size = shape[0] * shape[1]
                    out = grad_ws[position] = made[offset:offset + size].view(shape)
                    offset += size
                assert out.dtype == torch.float64 and out.is_contiguous() and \
                    out.shape == shape
                records[r].grads = out.data_ptr()
            else:
                records[r].grads = 0
        tile = self.tile(leaves.element_size(), batch)
        leaves = leaves.detach().contiguous()
        root = torch.empty((batch, stop - start), dtype=dtype) if values else None
        grad_leaves = torch.empty_like(leaves) if backward else None
        if grad_root is not None:
            grad_root = grad_root.contiguous().to(dtype)
        function = self.kernel.functions["flow_tiles", dtype]
        shares: list[torch.Tensor] = []  # other threads' weight gradients, added at the end

        def part(first: int, last: int) -> None:
            mine = records
            if first > 0 and backward and mine is not None:
                mine = type(records).from_buffer_copy(records)
                flat = torch.zeros(self.weights, dtype=torch.float64)
                shares.append(flat)
                for (r, _, _), offset in zip(self.sums, self.offsets):
                    mine[r].grads = flat.data_ptr() + 8 * offset
            work = self._work(2 * program.columns * tile * leaves.element_size())
            function(0 if mine is None else ctypes.cast(mine, ctypes.c_void_p),
                     0 if mine is None else len(mine), leaves.data_ptr(), leaves.shape[0],
                     batch, first * tile, min(last * tile, batch), program.columns, tile,
                     work.data_ptr(), start, stop - start, _address(grad_root), _address(root),
                     _address(grad_leaves))

        tiles = -(-batch // tile)
        self.kernel.split(tiles, tiles * tile * program.columns, part)
        if shares:
            total = torch.stack(shares).sum(0) if len(shares) > 1 else shares[0]
            for (_, position, shape), offset in zip(self.sums, self.offsets):
                size = shape[0] * shape[1]
                made_ws = grad_ws[position]
                assert made_ws is not None  # every sum's is made before the parts run
                made_ws.add_(total[offset:offset + size].view(shape))
        del keep
        return root, grad_leaves, grad_ws

    def _work(self, nbytes: int) -> torch.Tensor:
        """This thread's tile memory (kept across calls: fresh pages cost faults)."""
        work = getattr(self.work, "tensor", None)
        if work is None or work.numel() * 8 < nbytes:
            work = self.work.tensor = torch.empty(-(-nbytes // 8), dtype=torch.float64)
        return work

    # -- over a whole-batch buffer, with torch steps between ------------------------------------
    def backward(self, buf: torch.Tensor, grad: torch.Tensor,
                 log_ws: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
        """Add every column's gradient into `grad` (holding the outputs' already) and return
        each block's log-weight gradient (None without weights), by block position."""
        grad_ws: list[torch.Tensor | None] = [None] * len(log_ws)
        batch = buf.shape[1]
        for native, steps in reversed(self.segments):  # native weight gradients: float64
            if native:
                self._native(steps, buf, grad, log_ws, grad_ws, batch)
                continue
            op, log_w = steps[0].op, log_ws[steps[0].position]
            # a unit of probability zero passes no gradient down: it would be 0 * inf = NaN
            g = grad[op.start:op.stop]
            g = torch.where(buf[op.start:op.stop] == NEG_INF, 0.0, g)
            grad_ws[steps[0].position] = op.backward_into(buf, grad, log_w, g)
        return grad_ws

    def _native(self, steps: list[Any], buf: torch.Tensor, grad: torch.Tensor,
                log_ws: list[torch.Tensor | None], grad_ws: list[torch.Tensor | None],
                batch: int) -> None:
        array, keep = self._records(steps, log_ws, grad_ws)
        self.kernel.functions["flow_program", buf.dtype](
            ctypes.cast(array, ctypes.c_void_p), len(steps), buf.data_ptr(), grad.data_ptr(),
            batch)
        del keep

    @staticmethod
    def _records(steps: list[Any], log_ws: list[torch.Tensor | None],
                 grad_ws: list[torch.Tensor | None] | None) -> tuple[Any, list[torch.Tensor]]:
        """The steps as `Step` records (and the tensors they point into, to keep alive);
        with `grad_ws`, each sum's weight gradient is added (in float64, by C) to the tensor
        at its position there, made as zeros where there is none."""
        records, keep = [], []
        for step in steps:
            op, index = step.op, step.index
            record = Step(rows=index.shape[0], start=op.start, index=index.data_ptr())
            if isinstance(op, SumOp):
                record.kind, record.fan_in, record.parts = KINDS["SUM"], index.shape[1], \
                    index.shape[2]
                log_w = log_ws[step.position]
                if log_w is None:  # records made ahead of any call (`run_tiles` fills it)
                    records.append(record)
                    continue
                log_w = log_w.detach().contiguous()
                keep.append(log_w)
                record.values = log_w.data_ptr()
                if grad_ws is not None:
                    out = grad_ws[step.position]
                    if out is None:
                        out = torch.zeros(log_w.shape, dtype=torch.float64)
                        grad_ws[step.position] = out
                    assert out.dtype == torch.float64 and out.is_contiguous() and \
                        out.shape == log_w.shape
                    record.grads = out.data_ptr()
            else:
                record.kind, record.parts = KINDS["PRODUCT"], index.shape[1]
                if step.columns is not None:
                    record.columns = step.columns.data_ptr()
            records.append(record)
        return (Step * len(records))(*records), keep


def _address(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.data_ptr()


def _as(tensor: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(dtype)


class NativeEvaluate(torch.autograd.Function):
    """(program, flows, tiled, values, leaves, leaf gradients, *log-weights, *leaf parameters)
    -> root values, as `blocks.Evaluate` but on the native engine. `values`: with `tiled`
    (possible where `flows.tiled`) the leaf rows (leaves, batch), run a tile at a time; else
    the (columns, batch) buffer whose constant and leaf rows hold their values, filled by the
    forward (a caller may keep it). `leaves`, when not None, is the tensor of leaf rows whose
    gradient the backward gives (EM's tap).

    Tiled, the forward also makes the flows of a root gradient of ones, in the same tile loop
    (the values are then computed once, not again in the backward): flows are linear in the
    root's gradient, so a backward whose gradient is the same for every row (EM's sum of
    log-likelihoods, a loss that is their mean) scales them; any other gradient runs the
    backward again."""

    @staticmethod
    def forward(ctx, program: Program, flows: FlowProgram, tiled: bool,  # type: ignore[override]
                values: torch.Tensor, leaves: torch.Tensor | None, source: LeafGradients | None,
                *tensors: torch.Tensor) -> torch.Tensor:
        log_ws = program.expand(tuple(t.detach() for t in tensors[:len(program.weighted)]))
        ctx.program, ctx.flows, ctx.tiled, ctx.values, ctx.source, ctx.log_ws = \
            program, flows, tiled, values, source, log_ws
        start, stop = program.root
        if tiled:
            ones = values.new_ones((values.shape[1], stop - start))
            root, grad_leaves, grad_ws = flows.run_tiles(values, log_ws, ones)
            ctx.unit_flows = (grad_leaves, grad_ws)
            assert root is not None
            return root
        flows.fused.run(program, log_ws, values)
        return values[start:stop].t().clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        program, flows, values, source = ctx.program, ctx.flows, ctx.values, ctx.source
        if values is None:
            raise RuntimeError("pcc: a second backward through one forward pass (retain_graph) "
                               "is not supported")
        ctx.values = ctx.source = None
        if ctx.tiled:
            scale = grad.reshape(-1)[0] if grad.numel() else grad.new_zeros(())
            if bool((grad == scale).all()):  # flows of a uniform gradient: the unit flows scaled
                grad_leaves, grad_ws = ctx.unit_flows
                if bool(scale != 1):
                    grad_leaves = grad_leaves * scale
                    grad_ws = [None if g is None else g * scale for g in grad_ws]
            else:
                _, grad_leaves, grad_ws = flows.run_tiles(values, ctx.log_ws, grad, False)
            ctx.unit_flows = None
        else:
            flow = torch.zeros_like(values)
            start, stop = program.root
            flow[start:stop] = grad.t()
            grad_ws = flows.backward(values, flow, ctx.log_ws)
            first = NEG_INF_COLUMN + 1
            grad_leaves = flow[first:first + program.num_leaves]
        del values
        grad_params = source.backward(grad_leaves) if source is not None else []
        dtype = grad.dtype
        return (None, None, None, None, grad_leaves if ctx.needs_input_grad[4] else None, None,
                *[_as(grad_ws[i], dtype) for i in program.weighted], *grad_params)
