"""The torch backend: `compile(circuit) -> CompiledCircuit`, an `nn.Module` computing log p(x).

    model = compile(circuit, dtype=torch.float32, device="cpu", engine="auto")
    model.engine                       # "native" (runtime-built C, CPU) or "torch"
    ll = model(x)                      # (rows,) log-likelihoods, NaN = missing
    model.log_conditional(x, query=[0], evidence=[1, 2])
    circuit = model.to_circuit()       # the current parameters, as an IR circuit

The pipeline is straight: check validity (smooth, decomposable) -> layer -> build modules.
"""

from __future__ import annotations

import torch

from pcc.backends.engine import ENGINES, Engine, EngineError
from pcc.backends.torch.module import DEFAULT_BUFFER_BYTES, CompiledCircuit
from pcc.ir import Circuit, InvalidCircuitError
from pcc.layering import DEFAULT_PADDING, LayeredCircuit, layer

__all__ = ["ENGINES", "CompiledCircuit", "EngineError", "compile", "refusal"]


def refusal(circuit: Circuit) -> InvalidCircuitError | None:
    """The error `compile` raises for a circuit that is not smooth and decomposable, else None.

    Its problems are the `pcc check` violation messages, each naming a node and its scopes.
    """
    from pcc.analysis import decomposability, smoothness

    report = smoothness(circuit).merge(decomposability(circuit))
    if report.valid:
        return None
    error = InvalidCircuitError(
        ["not a valid PC (smooth and decomposable), refusing to compile it; pass "
         "allow_invalid=True to compile it anyway"] + [v.message for v in report.violations])
    error.report = report  # type: ignore[attr-defined]
    return error


def compile(circuit: Circuit | LayeredCircuit, dtype: torch.dtype = torch.float32,
            device: str | torch.device | None = None, allow_invalid: bool = False,
            padding: float = DEFAULT_PADDING, buffer_bytes: int = DEFAULT_BUFFER_BYTES,
            engine: Engine = "auto") -> CompiledCircuit:
    """A module evaluating `circuit` (or an existing plan of it) in `dtype` on `device`.

    `engine`: "native" (runtime-built C on the CPU: forward, backward by flows, EM), "torch"
    (torch ops on any device, any autograd loss) or "auto" (native on the CPU where a C
    compiler can build it, else torch); `model.engine` says which one runs. `EngineError`
    when "native" cannot be built here.

    Raises `InvalidCircuitError` with the check report when the circuit is not smooth or not
    decomposable, unless `allow_invalid` (its values are then the circuit's function, not a
    normalized distribution's).
    """
    plan = circuit if isinstance(circuit, LayeredCircuit) else None
    source = plan.circuit if plan is not None else circuit
    if not allow_invalid:
        error = refusal(source)  # type: ignore[arg-type]
        if error is not None:
            raise error
    if plan is None:
        plan = layer(source, padding=padding)  # type: ignore[arg-type]
    model = CompiledCircuit(plan, dtype=dtype, buffer_bytes=buffer_bytes, engine=engine)
    if device is not None:
        model = model.to(device)
        model.engine  # native off the CPU: the EngineError now, not at the first pass
    return model
