"""MPE (most probable explanation) on a compiled circuit: max-product up, argmax back down.

    result = mpe(model, x)        # x: (rows, vars), NaN = to maximize
    result.states                 # x with every missing entry filled
    result.values                 # the max-product log-value of each completed row
    result.exact                  # True when the circuit is proved deterministic

Max-product is exact on deterministic circuits (PSDDs, many Libra ACs): there the value is
log p(state | ...) = log p(state), and the state is a most probable completion of the
evidence. On other circuits it is the usual approximation: the state maximizes the best single
sub-circuit (induced tree), so log p(state) >= value, but a better completion may exist.
Input families return their modes (`pcc.backends.torch.modes`), the same as the reference
interpreter's (`pcc.backends.reference.queries.mpe`), which is the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import torch

from pcc.backends.torch.module import CompiledCircuit
from pcc.backends.torch.topdown import (
    backtrack,
    chunk_rows,
    fill,
    inner_blocks,
    input_blocks,
)
from pcc.ir import Circuit, InvalidCircuitError


@dataclass(frozen=True)
class MPEResult:
    """`states` (rows, vars): the evidence with each missing entry filled (NaN only for
    variables outside the root's scope), in the dtype of the data given when that is a
    floating torch tensor (as torch ops keep their input's), else float64 (numpy, lists);
    `values` (rows,): the max-product log-value of each state in the model's dtype (-inf
    when the evidence has probability zero)."""

    states: torch.Tensor
    values: torch.Tensor
    circuit: Circuit = field(repr=False)

    @cached_property
    def exact(self) -> bool:
        """Whether the states are exact MPE states (the circuit is proved deterministic).

        False means "not proved": the max-product approximation (see the module docstring)."""
        from pcc.analysis import determinism

        return determinism(self.circuit).deterministic == "yes"

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.states, self.values))  # `states, values = mpe(...)`, as the reference


def check_valid(circuit: Circuit) -> None:
    """Raise `InvalidCircuitError` (one line, naming each violation) when `circuit` is not
    smooth and decomposable: the backtrack would then not select one input per variable."""
    from pcc.backends.torch import refusal

    error = refusal(circuit)
    if error is not None:
        raise InvalidCircuitError(["MPE and sampling need a smooth, decomposable circuit"]
                                  + error.problems[1:])


@torch.no_grad()
def mpe(model: CompiledCircuit, data: object) -> MPEResult:
    """Fill each row's missing (NaN) entries with their max-product values; see the module
    docstring. Observed entries are kept; bad data raises `DataError`."""
    check_valid(model.circuit)
    x, missing = model.domains.prepare(data, None, model.device)
    leaves, inner = input_blocks(model), inner_blocks(model)
    at_mode = model.mode_values([leaf.params for leaf in leaves])
    step = chunk_rows(model, inner)
    states, values = [], []
    for start in range(0, x.shape[0], step):
        xs, ms = x[start:start + step], missing[start:start + step]
        up = model.run(xs, ms, semiring="max-product", keep_buffer=True, at_mode=at_mode)
        assert up.buffer is not None  # kept: the backtrack reads every unit's value
        active = backtrack(model, inner, up.buffer, lambda terms: torch.argmax(terms, dim=1))
        states.append(fill(leaves, active, xs, ms, lambda i, rows: leaves[i].params.modes[rows]))
        values.append(up.root[:, 0])
    dtype = data_dtype(data)
    if not states:
        empty = torch.zeros((0, x.shape[1]), dtype=dtype, device=x.device)
        return MPEResult(empty, torch.zeros(0, dtype=model.dtype, device=x.device),
                         model.circuit)
    return MPEResult(torch.cat(states).to(dtype), torch.cat(values), model.circuit)


def data_dtype(data: object) -> torch.dtype:
    """The dtype of states and samples: the data's when it is a floating torch tensor, else
    float64 (data are read in float64: integer codes and real values exact)."""
    if isinstance(data, torch.Tensor) and data.is_floating_point():
        return data.dtype
    return torch.float64
