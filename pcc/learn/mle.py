"""Closed-form maximum-likelihood parameters of a deterministic circuit, in one pass over the data
(what LearnPSDD and Juice.jl call MLE / "estimate parameters").

In a deterministic circuit (PSDDs, many Libra ACs) a complete row reaches at most one child of
each sum, so EM's expected counts are plain counts: n(u, c) = the number of rows whose path
goes through sum unit u and its child c. The maximum-likelihood weights are those counts
normalized, whatever the current parameters; input units get their families' estimates from
the rows that reach them (`mle` checks that each row reaches one child per sum, see there). With
a pseudo-count a (`prior`), the convention of EM's M-step:

    w(u, c) = (n(u, c) + a) / sum_c' (n(u, c') + a)      over u's live (non-zero) weights
    p(leaf) = (n(x = 1) + a) / (n + 2a)                  (Bernoulli; categorical: + k a)

The counts are EM's E-step statistics (`EM.accumulate`, a chunk of rows at a time: memory
bounded at any data size), the parameters its M-step, so one full-batch EM step from any start
is this estimate. Units no row reaches follow EM: sums become uniform over their live weights
(with a > 0), inputs keep their parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.module import CompiledCircuit
from pcc.ir.errors import DataError, PccError
from pcc.learn.em import EM

# the default pseudo-count of `mle` and of `pcc train --init` (--mle, and EM): on the 12 shipped
# UCLA PSDDs with their twenty-dataset splits, the MLE's validation LL minus the shipped model's
# summed over the 12 was -0.94 nats at 1e-5, -0.028 at 0.1, +0.018 at 0.3, +0.011 at 0.5,
# -0.050 at 1 and -0.21 at 2; 0.5 has the smallest worst case of the gainers (nltcs -0.003;
# 0.3: -0.007) and the better test LL on 10 of the 12 (README, "Training")
MLE_PRIOR = 0.5


# gap between a chunk's summed log-likelihood and its summed max-product value (nats) that
# counts as rounding, per row plus relative: the two passes take different code paths
GAP_PER_ROW, GAP_RELATIVE = 1e-4, 1e-5


class IncompleteDataError(DataError):
    """The MLE's closed form needs complete data: `row` and `column` (0-based) locate the first
    missing value, `count` is how many there are (for callers that name the row by its file
    and line)."""

    def __init__(self, row: int, column: int, count: int):
        self.row, self.column, self.count = row, column, count
        super().__init__(f"the closed-form MLE needs complete data: row {row}, column {column} "
                         f"is missing ({count} missing values); train with EM instead (--em "
                         "--batch-size 0)")


class NotDeterministicError(PccError):
    """The MLE's closed form needs a circuit that is deterministic on the data; `row` is the
    first row (0-based, of the data given) that mixes two children of a sum, `detail` the
    message without it (for callers that name the row by its file and line)."""

    def __init__(self, row: int, detail: str):
        self.row, self.detail = row, detail
        super().__init__(f"the closed-form MLE needs a circuit that is deterministic on the "
                         f"data: row {row} {detail}")


def mle(model: torch.nn.Module, data: np.ndarray, prior: float = MLE_PRIOR,
        batch_size: int = 1000, check: bool = True) -> float:
    """Sets `model`'s (a CompiledCircuit) parameters to their maximum-likelihood estimate
    from the complete rows of `data` (numpy, rows x variables), pseudo-count `prior`; returns
    the mean log-likelihood of `data` under the parameters before.

    With `check` (default) the data must be complete and the circuit deterministic on them:
    each row's log-likelihood equals its max-product value (every sum it reaches has one child
    of non-zero probability), checked by one max-product pass per chunk before any parameter
    changes. That is exactly what makes the counts plain counts, it holds for every PSDD, and
    it costs a forward pass where proving determinism on the structure
    (`pcc.analysis.determinism`) takes seconds and gives up on plants.psdd and msnbc.psdd."""
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise DataError(f"the MLE needs a non-empty (rows, variables) matrix, got shape "
                        f"{x.shape}")
    if not prior >= 0:
        raise ValueError(f"prior must be >= 0, got {prior}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if check:
        holes = np.argwhere(np.isnan(x))
        if len(holes):
            raise IncompleteDataError(int(holes[0][0]), int(holes[0][1]), len(holes))
    em = EM(model, prior=prior)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    total = 0.0
    for lo in range(0, len(x), batch_size):
        chunk = torch.as_tensor(x[lo:lo + batch_size], dtype=dtype, device=device)
        ll = em.accumulate(chunk)
        if check:
            _check_deterministic_on(em.access.model, chunk, ll, lo)
        total += ll
    em.update(step=1.0)
    return total / len(x)


@torch.no_grad()
def _check_deterministic_on(model: CompiledCircuit, chunk: torch.Tensor, ll: float,
                            first: int) -> None:
    """Raises NotDeterministicError naming the first row of `chunk` (row `first` of the data)
    whose log-likelihood exceeds its max-product value: a sum it reaches mixes two children.
    Each row's gap is >= 0, so the chunk's summed gap is checked first (one pass)."""
    xs, missing = model.domains.prepare(chunk, None, model.device)
    best = model.run(xs, missing, semiring="max-product").root[:, 0]
    best = best.to(torch.float64)
    rows = chunk.shape[0]
    if ll - float(best.sum()) <= GAP_PER_ROW * rows + GAP_RELATIVE * abs(ll):
        return
    each = model(chunk).to(torch.float64)
    gaps = each - best
    bad = torch.nonzero(gaps > GAP_PER_ROW + GAP_RELATIVE * each.abs())
    if len(bad) == 0:  # the chunk's sums differed by rounding only
        return
    row = int(bad[0])
    raise NotDeterministicError(
        first + row, f"has log-likelihood {float(each[row]):.6g} but its most likely path "
        f"only {float(best[row]):.6g} (a sum it reaches mixes two children); train it with "
        "EM instead (--em --batch-size 0)")
