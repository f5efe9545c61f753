"""Closed-form maximum-likelihood parameters of a deterministic circuit, in one pass over the data
(what LearnPSDD and Juice.jl call MLE / "estimate parameters").

In a deterministic circuit (PSDDs, many Libra ACs) a complete row reaches at most one child of
each sum, so EM's expected counts are plain counts: n(u, c) = the number of rows whose path
goes through sum unit u and its child c. The maximum-likelihood weights are those counts
normalized, whatever the current parameters; input units get their families' estimates from
the rows that reach them. With a pseudo-count a (`prior`), the convention of EM's M-step:

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

from pcc.ir import Circuit
from pcc.ir.errors import DataError, PccError
from pcc.learn.em import EM

# the default pseudo-count of `mle` and of `pcc train --init` (--mle, and EM): on the 12 shipped
# UCLA PSDDs with their twenty-dataset splits, the MLE's validation LL minus the shipped model's
# summed over the 12 was -0.94 nats at 1e-5, -0.028 at 0.1, +0.018 at 0.3, +0.011 at 0.5,
# -0.050 at 1 and -0.21 at 2; 0.5 has the smallest worst case of the gainers (nltcs -0.003;
# 0.3: -0.007) and the better test LL on 10 of the 12 (README, "Training")
MLE_PRIOR = 0.5


class NotDeterministicError(PccError):
    """The MLE's closed form needs a circuit proved deterministic."""


def check_deterministic(circuit: Circuit) -> None:
    """Raises NotDeterministicError naming the first sum that `pcc.analysis.determinism`
    could not prove deterministic."""
    from pcc.analysis import determinism

    report = determinism(circuit)
    if report.deterministic != "yes":
        unproved = report.determinism_unproved
        where = f": {unproved.message}" if unproved is not None else ""
        raise NotDeterministicError(
            f"the closed-form MLE needs a deterministic circuit, and determinism was not "
            f"proved{where}; train it with EM instead (--em --batch-size 0)")


def mle(model: torch.nn.Module, data: np.ndarray, prior: float = MLE_PRIOR,
        batch_size: int = 1000, circuit: Circuit | None = None, check: bool = True) -> float:
    """Sets `model`'s (a CompiledCircuit) parameters to their maximum-likelihood estimate
    from the complete rows of `data` (numpy, rows x variables), pseudo-count `prior`; returns
    the mean log-likelihood of `data` under the parameters before. With `check`, first proves
    the circuit deterministic (`check_deterministic` on `circuit`, the circuit `model` was
    compiled from; default `model.to_circuit()`) and the data complete."""
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
            row, column = (int(v) for v in holes[0])
            raise DataError(f"the closed-form MLE needs complete data: row {row}, column "
                            f"{column} is missing ({len(holes)} missing values); train with "
                            "EM instead (--em --batch-size 0)")
        check_deterministic(circuit if circuit is not None
                            else model.to_circuit())  # type: ignore[operator]
    em = EM(model, prior=prior)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    total = 0.0
    for lo in range(0, len(x), batch_size):
        total += em.accumulate(torch.as_tensor(x[lo:lo + batch_size], dtype=dtype,
                                               device=device))
    em.update(step=1.0)
    return total / len(x)
