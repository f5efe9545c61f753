"""Sampling from a compiled circuit, unconditionally or given evidence: a sum-product pass up,
then a top-down draw (`pcc.backends.torch.topdown`).

    x = sample(model, num_samples=1000, generator=0)         # unconditional, seed 0
    x = sample(model, evidence, generator=torch.Generator().manual_seed(1))

Given evidence, each sum unit on the way down picks input i with probability proportional to
w_i * p_i(evidence) (its share of the unit's value), and the inputs reached draw the missing
entries from their own distributions (`pcc.backends.torch.modes`): on a smooth, decomposable
circuit that is an exact draw from p(missing | observed). The same generator state gives the
same samples (on the same device and with the same batch layout).
"""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.modes import choose, draw
from pcc.backends.torch.module import CompiledCircuit
from pcc.backends.torch.mpe import check_valid, data_dtype
from pcc.backends.torch.topdown import (
    backtrack,
    chunk_rows,
    fill,
    inner_blocks,
    input_blocks,
)
from pcc.ir import DataError


@torch.no_grad()
def sample(model: CompiledCircuit, evidence: object = None, *, num_samples: int | None = None,
           generator: torch.Generator | int | None = None) -> torch.Tensor:
    """(rows, vars) samples on the model's device, in the evidence's dtype when it is a
    floating torch tensor, else float64 (`mpe.data_dtype`).

    Without `evidence`, `num_samples` unconditional draws. With `evidence` (rows, vars; NaN =
    to sample), each row completed once, or `num_samples` times (the copies of row 0 first).
    `generator` is a `torch.Generator` on the model's device or an int seed (None: torch's
    default generator). Evidence of probability zero raises `DataError` naming the row."""
    check_valid(model.circuit)
    if num_samples is not None and (isinstance(num_samples, bool) or
                                    not isinstance(num_samples, (int, np.integer)) or
                                    num_samples < 1):
        raise DataError(f"the number of samples must be a positive integer, got {num_samples!r}")
    if evidence is None:
        if num_samples is None:
            raise DataError("sample needs evidence or a number of samples")
        empty = torch.full((int(num_samples), model.circuit.num_vars), float("nan"),
                           dtype=torch.float64)
        x, missing = model.domains.prepare(empty, None, model.device)
    else:
        x, missing = model.domains.prepare(evidence, None, model.device)
        if num_samples is not None:
            x, missing = (t.repeat_interleave(int(num_samples), 0) for t in (x, missing))
    gen = generator
    if isinstance(generator, (int, np.integer)):
        gen = torch.Generator(device=model.device).manual_seed(int(generator))
    leaves, inner = input_blocks(model), inner_blocks(model)
    step = chunk_rows(model, inner)
    out = []
    for start in range(0, x.shape[0], step):
        xs, ms = x[start:start + step], missing[start:start + step]
        up = model.run(xs, ms, keep_buffer=True)
        buf = up.buffer
        assert buf is not None  # kept: the backtrack reads every unit's value
        zero = torch.isneginf(up.root[:, 0]).nonzero()
        if zero.numel():
            raise DataError(f"the evidence of row {start + int(zero[0, 0])} has probability "
                            f"zero ({zero.numel()} such rows in this batch): there is nothing "
                            "to sample from")
        active = backtrack(model, inner, buf, lambda terms: choose(terms, gen))  # type: ignore[arg-type]
        out.append(fill(leaves, active, xs, ms,
                        lambda i, rows: draw(leaves[i].params, rows, gen)))  # type: ignore[arg-type]
    dtype = data_dtype(evidence)
    if not out:
        return torch.zeros((0, x.shape[1]), dtype=dtype, device=x.device)
    return torch.cat(out).to(dtype)
