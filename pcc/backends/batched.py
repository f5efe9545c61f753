"""Queries on rows of data with either backend, in passes of bounded memory: the one place that
dispatches on the backend's name (`pcc eval`, `pcc mpe` and `pcc sample` call it).

    backend = Backend("torch", dtype="float32")          # or Backend("reference")
    ll = log_likelihoods(circuit, data, backend)         # (rows,) float64, -inf for zero rows
    states, best = mpe(circuit, data, backend)           # completed rows, max-product log-values
    draws = sample(circuit, evidence, backend, seed=0)   # NaN entries of `evidence` drawn

Memory: the torch module splits every pass into chunks whose activation buffer (rows x
columns) and largest block's work fit `buffer_bytes`; the reference interpreter keeps rows x
units float64 values per chunk, at most `REFERENCE_VALUES`. Only the data and the per-row
results grow with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pcc.ir import Circuit, PccError

if TYPE_CHECKING:
    import torch

    from pcc.backends.torch import CompiledCircuit

BACKENDS = ("torch", "reference")
ENGINES = ("auto", "native", "torch")  # pcc.backends.engine.ENGINES (that imports torch)
DTYPES = ("float64", "float32")
# The activation buffer of one pass, as much as the reference's chunk. plants.psdd (109k
# columns) at 10,000 rows in float64: 306 rows per pass, +172 MB peak over the loaded circuit
# (the 1 GiB default of `pcc.backends.torch.compile`: +493 MB); smaller passes cost time per
# pass (2,000 rows, medians of 3: 1 GiB 2.14 s, 256 MiB 2.48 s, 64 MiB 3.25 s, 16 MiB 7.2 s).
BUFFER_BYTES = 1 << 28
# The reference's chunk: its cost per chunk is a Python loop over every group (plants.psdd:
# seconds), so it keeps larger chunks than torch.
REFERENCE_VALUES = 1 << 25


class BackendError(PccError):
    """A backend cannot run as asked: an unknown name or dtype, or a device torch cannot use."""


@dataclass(frozen=True)
class Backend:
    """Which backend evaluates, and how: `dtype` and `device` are the torch backend's (the
    reference interpreter is float64 numpy on the CPU)."""

    name: str = "torch"
    dtype: str = "float64"
    device: str = "cpu"
    buffer_bytes: int = BUFFER_BYTES
    allow_invalid: bool = False  # compile a circuit that is not smooth and decomposable
    engine: str = "auto"  # the torch backend's engine: auto, native (CPU) or torch

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise BackendError(f"unknown backend {self.name!r}; known: {', '.join(BACKENDS)}")
        if self.dtype not in DTYPES:
            raise BackendError(f"unknown dtype {self.dtype!r}; known: {', '.join(DTYPES)}")
        if self.engine not in ENGINES:
            raise BackendError(f"unknown engine {self.engine!r}; known: {', '.join(ENGINES)}")

    def describe(self) -> str:
        """`torch backend, native engine, float32 on cpu` or `reference backend, float64`:
        what a result was computed with."""
        if self.name == "reference":
            return "reference backend, float64"
        return f"torch backend, {self.resolved_engine()} engine, {self.dtype} on {self.device}"

    def resolved_engine(self) -> str:
        """The engine the torch backend runs on this device ("auto" resolved); a
        BackendError where the one asked for cannot run."""
        import torch

        from pcc.backends.engine import EngineError, resolve_engine

        try:
            return resolve_engine(self.engine, torch.device(self.device))
        except EngineError as error:
            raise BackendError(str(error)) from None

    def compile(self, circuit: Circuit) -> CompiledCircuit:
        """The torch module of `circuit` in this dtype on this device, chunking its passes to
        `buffer_bytes`."""
        import torch

        from pcc.backends.torch import compile

        return compile(circuit, dtype=getattr(torch, self.dtype), device=self.torch_device(),
                       buffer_bytes=self.buffer_bytes, allow_invalid=self.allow_invalid,
                       engine=self.engine)  # type: ignore[arg-type]

    def torch_device(self) -> torch.device:
        """The device, checked by allocating on it (a BackendError names it where torch cannot
        use it: no CUDA build, no such GPU)."""
        import torch

        try:
            device = torch.device(self.device)
            torch.empty(0, device=device)
        except (RuntimeError, AssertionError) as error:
            raise BackendError(f"device {self.device!r}: {str(error).splitlines()[0]}") from None
        return device



def log_likelihoods(circuit: Circuit, data: np.ndarray, backend: Backend = Backend(),
                    batch_size: int | None = None) -> np.ndarray:
    """Each row's log-likelihood (float64; -inf for a row of probability zero); NaN entries
    are marginalized. `batch_size` caps the rows handed to one torch call (each call is cut
    further to the memory budget)."""
    if backend.name == "reference":
        from pcc.backends.reference import log_likelihood

        step = _reference_rows(circuit)
        return _joined([log_likelihood(circuit, data[i:i + step])
                        for i in range(0, len(data), step)])
    import torch

    model = backend.compile(circuit)
    step = max(1, batch_size or len(data) or 1)
    with torch.no_grad():
        return _joined([model(data[i:i + step]).double().cpu().numpy()
                        for i in range(0, len(data), step)])


def mpe(circuit: Circuit, data: np.ndarray, backend: Backend = Backend()
        ) -> tuple[np.ndarray, np.ndarray]:
    """(states, values): each row with its NaN entries set to their max-product state, and
    the max-product log-value of the completed row. The circuit must be smooth and
    decomposable (`InvalidCircuitError` otherwise)."""
    from pcc.backends.torch.mpe import check_valid

    check_valid(circuit)
    if backend.name == "reference":
        from pcc.backends.reference.queries import mpe as reference_mpe

        step = _reference_rows(circuit)
        parts = [reference_mpe(circuit, data[i:i + step]) for i in range(0, len(data), step)]
        if not parts:
            return reference_mpe(circuit, data)
        return (np.concatenate([s for s, _ in parts]), np.concatenate([v for _, v in parts]))
    from pcc.backends.torch.mpe import mpe as torch_mpe

    result = torch_mpe(backend.compile(circuit), data)
    return result.states.cpu().numpy(), result.values.double().cpu().numpy()


def sample(circuit: Circuit, evidence: np.ndarray, backend: Backend = Backend(),
           seed: int = 0) -> np.ndarray:
    """One draw per row of `evidence` (rows, variables): its NaN entries drawn from
    p(missing | observed), observed entries kept. The same seed gives the same draws with the
    same backend, device and budget. The reference draws the rows in one pass (chunks would
    change its random stream)."""
    from pcc.backends.torch.mpe import check_valid

    check_valid(circuit)
    if backend.name == "reference":
        from pcc.backends.reference.queries import sample as reference_sample

        return reference_sample(circuit, evidence, np.random.default_rng(seed))
    from pcc.backends.torch.sample import sample as torch_sample

    return torch_sample(backend.compile(circuit), evidence, generator=seed).cpu().numpy()


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _reference_rows(circuit: Circuit) -> int:
    """Rows per reference pass: rows x units values within `REFERENCE_VALUES`."""
    return max(1, REFERENCE_VALUES // max(circuit.num_units, 1))
