"""Which engine runs a compiled circuit: the one place that decides.

"native": the runtime-built C of `pcc.backends.native` (CPU only: forward, backward by flows,
EM, max-product); "torch": torch ops on any device, any autograd loss; "auto": native on the
CPU where a C compiler builds the library, else torch.
"""

from __future__ import annotations

from typing import Literal

import torch

from pcc.ir.errors import PccError

Engine = Literal["auto", "native", "torch"]
ENGINES = ("auto", "native", "torch")


class EngineError(PccError, RuntimeError):
    """The engine asked for cannot run here (no C compiler for native, a model off the CPU)."""


def resolve_engine(requested: str, device: torch.device) -> Literal["native", "torch"]:
    """The engine that `requested` ("auto", "native", "torch") runs on `device`: "auto" is
    native on the CPU where the library builds, else torch. `EngineError` for native off the
    CPU or without a C compiler."""
    from pcc.backends.native.library import kernel  # builds the library on first use

    if requested not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {requested!r}")
    if requested == "torch":
        return "torch"
    on_cpu = device.type == "cpu"
    if requested == "native":
        if not on_cpu:
            raise EngineError(f"the native engine runs on the CPU, and this model is on "
                              f"{device}: move it with .cpu(), or use engine='torch' (or "
                              "'auto')")
        if kernel() is None:
            raise EngineError("the native engine needs a C compiler (cc, or $CC) on Linux to "
                              "build its library; use engine='torch' or 'auto'")
        return "native"
    return "native" if on_cpu and kernel() is not None else "torch"
