"""EM for compiled circuits, as in EiNets (Peharz et al. 2020): expected counts from flows.

For a sum weight w, the expected count over a batch is n = w * dLL/dw = dLL/d(log w); for an
input unit, the posterior weight of each row is r = dLL/d(log p_unit(x)). One pass of the
summed log-likelihood's flows gives both (`accumulate`: `CompiledCircuit.flows`, native
without autograd, or by autograd on the torch engine); `update` makes the M-step: weights
w = (n + prior) / sum(n + prior) per sum unit over its live weights, inputs from their expected
sufficient statistics (`pcc.learn.leaves`). With `step < 1` it is online EM: new = (1 - step)
old + step M-step. Parameters are read and written through `pcc.learn.access`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pcc.families import FAMILIES
from pcc.learn.access import em_access
from pcc.learn.leaves import (OBSERVED, interpolate, keep_unobserved, m_step, observed_mass,
                              sufficient_statistics)


# (rows x units) entries of EM work arrays per slice: 512 KB of float64, a core's L2 cache
# (1 << 18 made peaks 8 MB higher at PD, K = 10, batch 100, and was no faster)
STATISTICS_ELEMENTS = 1 << 16
# families whose parameters are all integers (an indicator's value) are structure, not
# parameters: EM has nothing to learn there
FIXED_FAMILIES = tuple(name for name, f in FAMILIES.items()
                       if set(f.param_names) <= f.integer_params)


class EM:
    """Accumulates EM statistics over batches and applies M-steps to `model` in place."""

    def __init__(self, model: torch.nn.Module, prior: float = 1e-2, min_std: float = 1e-3,
                 reduce: Callable[[list[torch.Tensor]], None] | None = None):
        self.access = em_access(model)
        self.prior = prior
        self.min_std = min_std
        # called with `statistics()` before each M-step; distributed training sums them over
        # the ranks in place there (pcc.distributed), so that every rank makes the same M-step
        self.reduce = reduce
        # inputs with no parameters (indicators: the literals of PSDDs and ACs) have nothing
        # to learn; EM passes over them and trains the rest of the circuit
        self.learned = [i for i, family in enumerate(self.access.input_families)
                        if family not in FIXED_FAMILIES]
        self._reset()
        self.batches = _batches([table.num_rows for table in self.access.tables],
                                [live.shape[1] for live in self.access.weight_live])

    def _reset(self) -> None:
        self.counts: list[torch.Tensor] | None = None
        self.stats: dict[int, tuple[torch.Tensor, ...]] = {}

    def accumulate(self, x: torch.Tensor) -> float:
        """E-step on one batch (rows, variables; NaN = missing); returns the summed
        log-likelihood. Rows of probability zero would poison the counts: they are an error."""
        model = self.access.model
        xs, missing = model.domains.prepare(x, None, model.device)
        # one pass: the weight tables' expected counts (added to ours in place) and the leaf
        # rows' responsibilities; no gradient through the leaves' parameters
        flows = model.flows(xs, missing, self.counts)
        ll = flows.root
        x_nan = torch.where(missing, torch.nan, xs)
        if not bool(torch.isfinite(ll).all()):
            row = int(torch.nonzero(~torch.isfinite(ll))[0])
            raise FloatingPointError(f"EM: row {row} of the batch has log-likelihood "
                                     f"{float(ll[row])}; use a prior > 0")
        self.counts = flows.counts
        resp_all = flows.leaves
        for i in self.learned:
            start, stop = self.access.input_rows[i]
            stats = self._input_statistics(i, x_nan, resp_all[start:stop])
            old = self.stats.get(i)
            self.stats[i] = stats if old is None else tuple(a + b for a, b in zip(old, stats))
        return float(ll.detach().sum())

    def _input_statistics(self, i: int, x_nan: torch.Tensor, resp: torch.Tensor
                          ) -> tuple[torch.Tensor, ...]:
        """Input block i's statistics from its (units, rows) responsibilities, a slice of
        units at a time: the float64 (rows, units) work arrays of a large model at once
        would take gigabytes (RAT-SPN, 784 variables, K = 32, batch 100: 200 MB each)."""
        family, var = self.access.input_families[i], self.access.input_vars[i]
        params = self.access.input_params(i)
        step = max(1, STATISTICS_ELEMENTS // max(x_nan.shape[0], 1))
        out: tuple[torch.Tensor, ...] = ()
        for start in range(0, len(var), step):
            units = slice(start, start + step)
            # r made contiguous once: the statistics' several passes over a transposed view
            # read it a column at a time (1,320 Gaussian leaves at 10,000 rows: 436 -> 360 ms)
            values, r = x_nan[:, var[units]], resp[units].t().contiguous()
            sliced = {name: p[units] if p.dim() else p for name, p in params.items()}
            part = sufficient_statistics(family, sliced, values, r) + (observed_mass(values, r),)
            if not out:
                # the block's statistics allocated once, filled slice by slice: small results
                # kept between the slices' megabyte work arrays fragmented the heap, and the
                # resident set grew by a gigabyte over one E-step (RAT-SPN, K = 10, batch 1000)
                out = tuple(t.new_empty((len(var),) + t.shape[1:]) for t in part)
            for total, t in zip(out, part):
                total[units].copy_(t)
        return out

    def _weights(self, counts: torch.Tensor, live: torch.Tensor, old: torch.Tensor | None,
                 step: float) -> torch.Tensor:
        """The M-step's new log-weights of some sum units from their expected counts (and,
        with `old` log-weights, the online step towards them)."""
        smoothed = torch.where(live, counts.clamp_min(0).add_(self.prior), 0.0)
        w = smoothed.div_(smoothed.sum(-1, keepdim=True).clamp_min_(1e-300))
        if old is not None:
            w = old.to(torch.float64).exp_().mul_(1 - step).add_(w.mul_(step))
        return w.log_()

    def statistics(self) -> list[torch.Tensor]:
        """The accumulated statistics (float64, modifiable in place), in a fixed order: the
        expected counts of each weight table, then each input block's sufficient statistics."""
        if self.counts is None:
            return []
        return self.counts + [t for i in sorted(self.stats) for t in self.stats[i]]

    @torch.no_grad()
    def update(self, step: float = 1.0) -> None:
        """M-step from the statistics since the last update, then forget them."""
        if self.counts is None:
            return
        if self.reduce is not None:
            self.reduce(self.statistics())
        for batch in self.batches:
            # sum units of several tables of one width, or a slice of a large table's: each
            # row is its own distribution, so rows of any table go through one M-step
            counts = torch.cat([self.counts[t][rows] for t, rows in batch])
            live = torch.cat([self.access.weight_live[t][rows] for t, rows in batch])
            old = torch.cat([self.access.tables[t].read_rows(rows) for t, rows in batch]) \
                if step < 1.0 else None
            w = self._weights(counts, live, old, step)
            first = 0
            for t, rows in batch:
                size = rows.stop - rows.start
                self.access.tables[t].assign_rows(rows, w[first:first + size],
                                                  self.access.weight_live[t][rows])
                first += size
        for i, (stats, total, observed) in self.stats.items():
            family = self.access.input_families[i]
            old_params = self.access.input_params(i)
            new = m_step(family, old_params, stats, total, self.prior, self.min_std)
            new = keep_unobserved(old_params, interpolate(family, old_params, new, step), observed)
            self.access.set_input_params(i, new, units=observed > OBSERVED)
        self._reset()


def _batches(rows: list[int], widths: list[int]) -> list[list[tuple[int, slice]]]:
    """The M-step's batches of (table, rows): tables of one width together while their entries
    stay within STATISTICS_ELEMENTS (a PSDD's dozens of small tables in a few ops, not a
    dozen each), a large table in slices of rows within it (whole-table float64 temporaries
    were several times the weights' memory: PD, K = 32, 6.4M)."""
    batches: list[list[tuple[int, slice]]] = []
    open_batch: dict[int, tuple[list[tuple[int, slice]], int]] = {}  # width -> (batch, size)
    for t, (n, width) in enumerate(zip(rows, widths)):
        step = max(1, STATISTICS_ELEMENTS // max(width, 1))
        for start in range(0, n, step):
            part = slice(start, min(start + step, n))
            size = (part.stop - part.start) * width
            batch, total = open_batch.get(width, ([], 0))
            if total + size > STATISTICS_ELEMENTS and batch:
                batch, total = [], 0
            if not batch:
                batches.append(batch)
            batch.append((t, part))
            open_batch[width] = (batch, total + size)
    return batches
