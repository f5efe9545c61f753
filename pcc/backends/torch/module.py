"""`CompiledCircuit`: a layered circuit as a torch module with trainable parameters."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from pcc.backends.torch.blocks import (
    BlockOp,
    DenseOp,
    Evaluate,
    LeafGradients,
    ProductOp,
    Program,
    SumOp,
    run_blocks,
)
from pcc.data.tensors import DomainTable, OutsideDomain, variable_mask
from pcc.backends.torch.einsum import KronOp
from pcc.backends.torch.families import Family, make_family
from pcc.backends.native.flows import FlowProgram, NativeEvaluate
from pcc.backends.native.fused import FusedPass, max_product
from pcc.backends.torch.leaf_rows import LeafRows
from pcc.backends.torch.modes import LeafParams, leaf_params
from pcc.backends.engine import Engine, resolve_engine
from pcc.backends.native.library import SumKernel, kernel
from pcc.backends.torch.params import LogTable
from pcc.backends.native.tiled import TiledPass
from pcc.ir import Circuit, Input, Sum
from pcc.layering import LayeredCircuit

DEFAULT_BUFFER_BYTES = 1 << 30
OPS = {"product": ProductOp, "sum": SumOp, "dense": DenseOp, "kron": KronOp}
Semiring = Literal["sum-product", "max-product"]
SEMIRINGS = ("sum-product", "max-product")
@dataclass(frozen=True)
class Pass:
    """What one forward pass (`CompiledCircuit.run`) gives back."""

    root: torch.Tensor                  # (rows, root units): the root's values
    log_weights: list[torch.Tensor]     # each weight table's log-weights, as the pass read them
    buffer: torch.Tensor | None = None  # (columns, rows): every unit's value (`keep_buffer`)
    leaves: torch.Tensor | None = None  # (leaf units, rows) requiring grad (`tap_leaves`)


@dataclass(frozen=True)
class Flows:
    """What EM's E-step takes from one pass (`CompiledCircuit.flows`): the flows of the summed
    log-likelihood, i.e. its gradients for the log-weights and the leaf rows."""

    root: torch.Tensor          # (rows,): log p(x)
    counts: list[torch.Tensor]  # per weight table (`weight_tables`): sum_rows dLL/d(log w), f64
    leaves: torch.Tensor        # (leaf units, rows): dLL/d(log p_unit(x)) per row


class CompiledCircuit(nn.Module):
    """log p(x) of a circuit in one tensor op per block; see `pcc.backends.torch.compile`.

    Two engines run the same compiled program: "native" (CPU only: runtime-built C for the
    forward pass, one call per batch where it can, and for the backward, by flows) and
    "torch" (torch ops on any device, with the blocks' closed-form backward). `engine` says
    which one runs now; `requested_engine` is what `compile` was asked for ("auto": native on
    the CPU where a C compiler built the library, else torch).

    Parameters (`state_dict`) are the leaves' and the sums' free parameters; the index arrays
    are non-persistent buffers (they follow `.to(device)` but are derived from the circuit).
    Batches are evaluated in chunks so the activation buffer plus the largest block's work
    memory stay under `buffer_bytes`.
    """

    def __init__(self, plan: LayeredCircuit, dtype: torch.dtype = torch.float32,
                 buffer_bytes: int = DEFAULT_BUFFER_BYTES, engine: Engine = "auto"):
        super().__init__()
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        resolve_engine(engine, torch.device("cpu"))  # an unknown name, native unavailable
        self.requested_engine: Engine = engine
        self.circuit, self.plan, self.dtype = plan.circuit, plan, dtype
        self.buffer_bytes = buffer_bytes
        self.domains = DomainTable(self.circuit.domains)
        groups = self.circuit.groups
        weights = _concatenated_weights(self.circuit)
        input_blocks = [b for b in plan.blocks if b.op == "input"]
        families: list[Family] = [
            make_family(b.family, [groups[g] for g in b.groups], b.index, dtype)  # type: ignore[arg-type]
            for b in input_blocks]
        blocks: list[BlockOp] = [OPS[b.op](b, weights, dtype)
                                 for b in plan.blocks if b.op != "input"]
        self.families = nn.ModuleList(families)
        self.blocks = nn.ModuleList(blocks)
        self.family_list = families  # typed views of the two module lists
        self.program = Program(blocks, plan.num_columns, plan.root_columns, plan.num_inputs)
        self.leaf_rows = LeafRows(families, [d.size for d in self.circuit.domains], dtype)
        # the native engine's programs, made from the structure on first use
        self._fused: FusedPass | None = None   # forward over the whole batch (no autograd)
        self._tiled: TiledPass | None = None   # the same as one call, tile by tile
        self._flows: FlowProgram | None = None  # forward and backward for autograd
        # parameter state: the log-weights made for it, and the copy that tells when it changes
        self._weights: tuple[int, list[torch.Tensor]] | None = None
        self._snapshot: tuple[int, list[torch.Tensor]] | None = None
        self._states = itertools.count(1)  # parameter states, numbered once each
        self._listed: list[torch.Tensor] | None = None  # `_tensors`

    @property
    def engine(self) -> Literal["native", "torch"]:
        """The engine that runs this model's passes on its current device."""
        return resolve_engine(self.requested_engine, self.device)

    def _native(self) -> SumKernel | None:
        """The native library when the native engine runs, else None."""
        return kernel() if self.engine == "native" else None

    @property
    def device(self) -> torch.device:
        return self._tensors()[-1].device

    def _tensors(self) -> list[torch.Tensor]:
        """The parameters, then the input families' buffers (never empty: every circuit has an
        input), listed once (walking the modules costs more than a small pass)."""
        if self._listed is None:
            self._listed = [*self.parameters(),
                            *(b for f in self.family_list for b in f.buffers())]
        return self._listed

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self._listed = None  # .to(), .double(), ... may give the buffers new tensors
        out = super()._apply(fn, recurse)
        floats = [p.dtype for p in self.parameters() if p.is_floating_point()]
        if floats and floats[0] != self.dtype:  # .double(), .float(), .to(torch.float64)
            if floats[0] not in (torch.float32, torch.float64):
                raise ValueError(f"pcc computes in torch.float32 or torch.float64, not "
                                 f"{floats[0]}: convert with .float() or .double()")
            self.dtype = self.leaf_rows.dtype = floats[0]
            for family in self.family_list:
                family.dtype = floats[0]
            # what was made for the old dtype: log-weights, the bound tiled program
            self._weights = self._snapshot = None
            self._tiled = None
        return out

    # -- evaluation ----------------------------------------------------------------------------
    def forward(self, x: object, mask: object = None) -> torch.Tensor:
        """log p(x) per row; NaN entries, and entries where `mask` is True, are marginalized.
        Returns (rows,) for a one-unit root, else (rows, units)."""
        # the tiled pass's kernel checks the values against their domains as it reads them
        x, missing = self.domains.prepare(x, mask, self.device, check=not self._tiled_checks())
        return self._evaluate(x, missing)

    def _tiled_checks(self) -> bool:
        """Whether `_evaluate` runs the tiled pass, which checks the data (`TiledPass.run`)."""
        return not self._autograd() and self._tiled_pass() is not None

    def log_marginal(self, x: object, variables: object) -> torch.Tensor:
        """log p(x_V) for the variables `V` (ids or a bool mask); every other one is summed out."""
        x, missing = self.domains.prepare(x, None, self.device)
        keep = variable_mask(variables, x.shape[0], x.shape[1], self.device)
        return self._evaluate(x, missing | ~keep)

    def log_conditional(self, x: object, query: object, evidence: object) -> torch.Tensor:
        """log p(x_Q | x_E) = log p(x_Q, x_E) - log p(x_E). Variables outside Q and E are summed
        out. Rows whose evidence has probability zero give NaN (the conditional is undefined)."""
        x, missing = self.domains.prepare(x, None, self.device)
        rows, num_vars = x.shape
        q = variable_mask(query, rows, num_vars, self.device)
        e = variable_mask(evidence, rows, num_vars, self.device)
        both = self._evaluate(torch.cat([x, x]), torch.cat([missing | ~(q | e), missing | ~e]))
        return both[:rows] - both[rows:]

    def _evaluate(self, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """log p per row by `run`, in chunks so that the buffer and one block's work fit."""
        itemsize = torch.finfo(self.dtype).bits // 8
        fused = self._fused_pass() if not self._autograd() else None
        tiled = self._tiled_pass() if fused is not None else None
        if tiled is not None:
            chunk = self.chunk_rows(tiled.bytes_per_row(itemsize))
        else:
            work = fused.work_per_row if fused is not None else self.program.work_per_row
            # with autograd the native engine keeps a gradient buffer beside the values
            copies = 2 if self._autograd() and self.engine == "native" else 1
            chunk = self.chunk_rows((copies * self.plan.num_columns + work) * itemsize)
        try:
            outs = [self.run(x[start:start + chunk], missing[start:start + chunk]).root
                    for start in range(0, max(x.shape[0], 1), chunk)]
        except OutsideDomain:  # found in a chunk: named by its row in the whole batch
            self.domains.explain(x.cpu().numpy(), missing.cpu().numpy())
        out = torch.cat(outs) if len(outs) > 1 else outs[0]
        return out[:, 0] if out.shape[1] == 1 else out

    def chunk_rows(self, bytes_per_row: int) -> int:
        """Rows per pass so that `bytes_per_row` times them stay within `buffer_bytes`."""
        return max(1, self.buffer_bytes // bytes_per_row)

    # -- the forward pass: every evaluation and query goes through `run` -------------------------
    def run(self, x: torch.Tensor, missing: torch.Tensor, *, semiring: Semiring = "sum-product",
            keep_buffer: bool = False, tap_leaves: bool = False,
            at_mode: torch.Tensor | None = None) -> Pass:
        """One forward pass over one batch (no chunking): `x` and `missing` (rows, vars) as
        `domains.prepare` gives them.

        `semiring`: "sum-product" (log p) or "max-product" (each sum the max of its terms;
        missing leaf entries take their unit's value at its mode, `at_mode` (leaf units,),
        `mode_values()` when None). Taps: `keep_buffer` returns the filled (columns, rows)
        activation buffer (the top-down passes read it); `tap_leaves` returns the leaf rows
        as a tensor that requires grad, so that a backward gives dLL/d(log p_leaf) (EM's
        responsibilities; no gradient then reaches the leaves' parameters). With autograd (a
        parameter requires grad, or `tap_leaves`) the blocks run in `Evaluate`, over a buffer
        of the pass's own whose leaf rows are written as without autograd; the backward makes
        the leaves' parameter gradients from those rows' gradient (`FamilyGradients`). Without
        autograd the buffer is reused across calls, and on the CPU the native fused pass runs
        (unless the buffer is kept: that pass skips product rows only sums read)."""
        if semiring not in SEMIRINGS:
            raise ValueError(f"semiring must be one of {', '.join(SEMIRINGS)}, got {semiring!r}")
        if tap_leaves and semiring != "sum-product":
            raise ValueError("tap_leaves needs the sum-product semiring (EM's E-step)")
        program = self.program
        native = self._native()
        like = torch.empty(0, dtype=self.dtype, device=x.device)
        start, stop = program.root
        if tap_leaves or (semiring == "sum-product" and self._autograd()):
            # what passes without autograd keep between calls goes: this pass keeps its own
            # buffer for the backward, and a step after it changes the parameters, so the
            # log-weights cached for them would be made again anyway (as large as the weights:
            # 39 MB in a RAT-SPN, K = 32)
            program.scratch.release()
            self._weights = self._snapshot = None
            log_ws = [table() for table in self.weight_tables()]
            flows = self._flow_program(native) if native is not None else None
            if flows is not None and flows.tiled and not keep_buffer:
                # tile by tile from the leaf rows: no buffer of the whole batch is kept
                buf, rows = None, like.new_empty((program.num_leaves, x.shape[0]))
            else:
                buf, rows = program.buffer(like, x.shape[0], reuse=False)
            # the leaf rows are written in place without autograd (by lookup or the native
            # kernel where they can be), as in a pass without one: the backward turns their
            # gradient into the parameters' (`FamilyGradients`), so no (leaf units, batch)
            # tensor is kept next to the buffer for it
            codes = self.leaf_rows.codes(x, missing)
            self.leaf_rows.write(x, missing, rows, codes, native)
            leaves = rows.requires_grad_() if tap_leaves else None
            source = None if tap_leaves else FamilyGradients(self.leaf_rows, x, missing, codes)
            params = source.params if source is not None else []
            if flows is not None:  # forward by the fused steps, backward by flows
                root = NativeEvaluate.apply(program, flows, buf is None,
                                            rows if buf is None else buf, leaves,
                                            source if params else None, *log_ws, *params)
            else:
                root = Evaluate.apply(program, buf, leaves, source if params else None,
                                      *log_ws, *params)
            return Pass(root, log_ws, buf if keep_buffer else None, leaves)
        with torch.no_grad():
            state = self._parameter_state()
            log_ws = self._log_weights(state)
            whole = native is not None and semiring == "sum-product" and not keep_buffer
            tiled = self._tiled_pass() if whole else None
            if tiled is not None:  # the whole pass in one native call, tile by tile
                tiled.bind(state, program.expand(tuple(log_ws)), self.dtype)
                return Pass(tiled.run(x, missing, self.dtype, self.domains), log_ws)
            fused = self._fused_pass() if whole else None
            buf, rows = program.buffer(like, x.shape[0], reuse=not keep_buffer)
            codes = self.leaf_rows.codes(x, missing)
            self.leaf_rows.write(x, missing, rows, codes, native)
            full = program.expand(tuple(log_ws))
            if semiring == "max-product":
                at_mode = self.mode_values() if at_mode is None else at_mode
                taken = missing.t().contiguous().index_select(0, self.leaf_rows.variables())
                torch.where(taken, at_mode.to(rows.dtype)[:, None], rows, out=rows)
                if native is not None:
                    max_product(program, full, buf, native)
                else:
                    run_blocks(program, buf, full, semiring)
            elif fused is None:
                run_blocks(program, buf, full)
            else:
                tables = self.leaf_rows.column_tables(buf.dtype, buf.device) if fused.lookups else None
                fused.run(program, full, buf, codes, tables)
        root = buf[start:stop].t()
        # a copy unless the buffer is kept: a reused buffer is overwritten by the next pass
        return Pass(root if keep_buffer else root.clone(), log_ws,
                    buf if keep_buffer else None)

    def flows(self, x: torch.Tensor, missing: torch.Tensor,
              counts: list[torch.Tensor] | None = None) -> Flows:
        """EM's E-step on one batch (`x`, `missing` as `domains.prepare` gives them): log p(x)
        and the flows of its sum over the rows. `counts` (float64, one per weight table, as a
        previous call returned them) are added to in place. The native engine makes them in
        one pass without autograd, tile by tile, on log-weights kept while the parameters do
        not change (full-batch EM's chunks share them); otherwise by autograd."""
        program = self.program
        if program.root[1] - program.root[0] != 1:
            raise ValueError("EM needs a root of one unit")
        native = self._native()
        flows = self._flow_program(native) if native is not None else None
        if flows is not None and flows.tiled:
            with torch.no_grad():
                log_ws = self._log_weights(self._parameter_state())
                rows = torch.empty((program.num_leaves, x.shape[0]), dtype=self.dtype)
                self.leaf_rows.write(x, missing, rows, self.leaf_rows.codes(x, missing), native)
                given: list[torch.Tensor | None] = [None] * len(program.blocks)
                for i, c in zip(program.weighted, counts or []):
                    given[i] = c
                root, leaves, grad_ws = flows.run_tiles(
                    rows, program.expand(tuple(log_ws)), rows.new_ones((x.shape[0], 1)), True,
                    given)
                assert root is not None and leaves is not None
                weight_flows = [grad_ws[i] for i in program.weighted]  # every one made
                return Flows(root[:, 0], weight_flows, leaves)  # type: ignore[arg-type]
        up = self.run(x, missing, tap_leaves=True)
        ll, log_ws, tapped = up.root[:, 0], up.log_weights, up.leaves
        assert tapped is not None
        grads = list(torch.autograd.grad(ll.sum(), log_ws + [tapped], allow_unused=True))
        leaf_grad = grads.pop()
        made: list[torch.Tensor] = []
        for i, (g, w) in enumerate(zip(grads, log_ws)):
            g = torch.zeros_like(w) if g is None else g.detach()
            if counts is not None:
                made.append(counts[i].add_(g))
            else:
                made.append(g.to(torch.float64))
        leaves = torch.zeros_like(tapped) if leaf_grad is None else leaf_grad.detach()
        return Flows(ll.detach(), made, leaves)

    def mode_values(self, params: list[LeafParams] | None = None) -> torch.Tensor:
        """(leaf units,) each input unit's log-value at its own mode, from each input block's
        `LeafParams` (`leaf_params`, made here when not given)."""
        with torch.no_grad():
            if params is None:
                blocks = [b for b in self.plan.blocks if b.op == "input"]
                params = [leaf_params(self.circuit, b, f, self.device)
                          for b, f in zip(blocks, self.family_list)]
            return torch.cat([f.log_prob(p.modes[:, None])[:, 0].to(self.dtype)
                              for f, p in zip(self.family_list, params)])

    def weight_tables(self) -> list[LogTable]:
        """Every weighted block's `LogTable`, in the order of `Pass.log_weights`."""
        return [b.table for b in self.program.blocks if b.table is not None]

    def _autograd(self) -> bool:
        """Whether a pass now must record autograd (a backward may follow)."""
        return torch.is_grad_enabled() and any(t.requires_grad for t in self._tensors())

    def _parameter_state(self) -> int:
        """A number that changes whenever a parameter's values do. They are compared with a
        copy kept from the last change, since writes through `.data` bump no version counter:
        0.05 ms a call on kdd-6k.psdd, where making the log-weights and the tiled program again
        takes 3 ms. The copy and its number are replaced together, never edited in place."""
        tensors = self._tensors()
        kept = self._snapshot
        if kept is not None and len(tensors) == len(kept[1]) and all(
                t.device == c.device and torch.equal(t, c) for t, c in zip(tensors, kept[1])):
            return kept[0]
        # a new number even after the copy was dropped (an autograd pass drops it): what was
        # bound to an older state must never be taken for this one
        state = next(self._states)
        self._snapshot = (state, [t.detach().clone() for t in tensors])
        return state

    def _log_weights(self, state: int) -> list[torch.Tensor]:
        """Every weight table's log-weights (no autograd), made again only when `state`
        (`_parameter_state`) changed."""
        cached = self._weights
        if cached is None or cached[0] != state:
            # contiguous: the native passes read them as (rows, fan-in) arrays
            cached = (state, [table().contiguous() for table in self.weight_tables()])
            self._weights = cached
        return cached[1]

    def _tiled_pass(self) -> TiledPass | None:
        """The one-call native pass (`tiled.py`), or None where the native engine does not run,
        a block runs in torch (einsum blocks) or the circuit is too large for tiles."""
        fused = self._fused_pass()
        itemsize = torch.finfo(self.dtype).bits // 8
        if fused is None or not TiledPass.possible(fused, self.plan.num_columns, itemsize):
            return None
        if self._tiled is None:
            self._tiled = TiledPass(fused, self.leaf_rows, self.plan.num_columns,
                                    self.program.root, len(self.circuit.domains), fused.kernel)
        return self._tiled

    def _fused_pass(self) -> FusedPass | None:
        """The native engine's forward over the whole batch (made on first use), or None when
        the torch engine runs."""
        native = self._native()
        if native is not None and self._fused is None:
            self._fused = FusedPass(self.program, native, self._column_vars())
        return self._fused if native is not None else None

    def _flow_program(self, native: SumKernel) -> FlowProgram:
        """The native engine's pass with autograd: the fused steps without folded lookups
        (their backward would need each leaf's share), and their flows."""
        if self._flows is None:
            self._flows = FlowProgram(FusedPass(self.program, native, None), native,
                                      self.program)
        return self._flows

    def _column_vars(self) -> np.ndarray | None:
        """`LeafRows.column_vars`: what a `FusedPass` folds sums of leaves by."""
        return self.leaf_rows.column_vars()

    # -- the way back --------------------------------------------------------------------------
    def to_circuit(self) -> Circuit:
        """The circuit with the current parameters (float64), e.g. to save a trained model."""
        groups = list(self.circuit.groups)
        input_blocks = [b for b in self.plan.blocks if b.op == "input"]
        for block, family in zip(input_blocks, self.family_list):
            row = 0
            for g in block.groups:
                old = groups[g]
                groups[g] = Input(old.id, old.units, old.var, old.family,  # type: ignore[union-attr]
                                  family.params(row, row + old.units), old.origin)
                row += old.units
        # aliased identity sums have no table: their weights are the circuit's own
        weights = _concatenated_weights(self.circuit)
        inner = [b for b in self.plan.blocks if b.op != "input"]
        for block, op in zip(inner, self.program.blocks):
            if op.table is not None:
                slots = block.weight_slots.reshape(op.table.theta.shape[::-1])  # type: ignore[union-attr]
                weights[slots[slots >= 0]] = op.table.values()[slots >= 0]
        for g, start in enumerate(self.plan.weight_ptr):
            if start >= 0:
                old = groups[g]
                w = weights[start:start + old.weights.size].reshape(old.weights.shape)  # type: ignore[union-attr]
                groups[g] = Sum(old.id, old.units, old.children, w, old.mode,  # type: ignore[union-attr]
                                old.origin)
        return Circuit(groups, self.circuit.domains)

    def extra_repr(self) -> str:
        return (f"{len(self.circuit)} groups, {len(self.program.blocks)} blocks, "
                f"{self.plan.num_columns} columns, dtype={self.dtype}, engine={self.engine}")


class FamilyGradients(LeafGradients):
    """The input families' parameter gradients from the leaf rows' gradient, each family from
    its own rows (`Family.parameter_grads`); keeps the pass's data and codes for it."""

    def __init__(self, leaf_rows: LeafRows, x: torch.Tensor, missing: torch.Tensor,
                 codes: torch.Tensor | None):
        self.x, self.missing, self.codes, self.k = x, missing, codes, leaf_rows.table_k
        self.parts: list[tuple[Family, int, bool]] = []  # (family, first row, looked up)
        self.params = []
        row = 0
        for family, tabled in zip(leaf_rows.families, leaf_rows.tabled):
            params = [p for p in family.parameters() if p.requires_grad]
            if params:
                self.parts.append((family, row, tabled))
                self.params += params
            row += len(family.var)

    def backward(self, grad_leaves: torch.Tensor) -> list[torch.Tensor | None]:
        grads: list[torch.Tensor | None] = []
        for family, row, tabled in self.parts:
            grad = grad_leaves[row:row + len(family.var)]
            grads += family.parameter_grads(grad, self.x, self.missing,
                                            self.codes if tabled else None, self.k)
        return grads


def _concatenated_weights(circuit: Circuit) -> np.ndarray:
    """Every sum's raveled weights in group order: the layout of the plan's weight slots."""
    return np.concatenate([g.weights.ravel() for g in circuit.groups if isinstance(g, Sum)] or
                          [np.zeros(0)])
