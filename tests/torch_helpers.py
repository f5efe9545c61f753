"""Shared checks for the torch backend tests: log-likelihoods compared with per-dtype tolerances."""

from __future__ import annotations


import numpy as np
import torch
from hypothesis import strategies as st

from pcc.backends.native.library import kernel

from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, categorical

TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4}
# the tests that take a `device` run on CUDA too where a GPU is present (tools/gpu_check.sh)
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
# (device, engine) pairs to run a test on: the torch engine everywhere, the native engine on
# the CPU where a C compiler built it
# the engines a CPU test runs on: torch, and native where a C compiler built it
CPU_ENGINES = ["torch", *(["native"] if kernel() is not None else [])]
ENGINE_DEVICES = [("cpu", "torch"), *([("cpu", "native")] if kernel() is not None else []),
                  *([("cuda", "torch")] if torch.cuda.is_available() else [])]


def assert_logs_close(got: object, want: np.ndarray, rtol: float) -> None:
    """Same -inf positions exactly, no NaN, and |got - want| <= rtol * max(1, |want|) elsewhere.

    Log-likelihoods near 0 make a pure relative error meaningless, so the bound is relative to
    max(1, |want|): absolute near log 1, relative for the large magnitudes of long products.
    """
    got = got.detach().double().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert not np.isnan(got).any(), got
    assert np.array_equal(np.isneginf(got), np.isneginf(want)), (got, want)
    finite = np.isfinite(want)
    error = np.abs(got[finite] - want[finite]) / np.maximum(1.0, np.abs(want[finite]))
    assert error.size == 0 or error.max() <= rtol, (error.max(), got, want)


@st.composite
def kron_circuits(draw: st.DrawFn, max_vars: int = 5) -> Circuit:
    """EiNet-like circuits: every region is a dense sum over 1..3 Kronecker pairs of two
    sub-regions (Ka x Kb units), with positive weights, so every sum is a fused einsum."""
    n = draw(st.integers(2, max_vars))
    domains = draw(st.lists(st.sampled_from([BINARY, REAL, categorical(3)]), min_size=n,
                            max_size=n))
    b = CircuitBuilder(domains)

    def positive(shape: tuple[int, ...]) -> np.ndarray:
        raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=int(np.prod(shape)),
                                     max_size=int(np.prod(shape))))).reshape(shape)
        return raw / raw.sum(axis=-1, keepdims=True)

    def leaf(var: int, k: int) -> int:
        kind = domains[var].kind
        if kind == "real":
            return b.gaussian(var, mean=draw(st.lists(st.floats(-2, 2), min_size=k, max_size=k)),
                              std=draw(st.lists(st.floats(0.5, 2), min_size=k, max_size=k)))
        if kind == "binary" and draw(st.booleans()):
            return b.indicator(var, value=draw(st.lists(st.integers(0, 1), min_size=k, max_size=k)))
        return b.categorical(var, probs=positive((k, domains[var].size)))

    def region(variables: list[int], k: int) -> int:
        if len(variables) == 1:
            return leaf(variables[0], k)
        ka, kb = draw(st.sampled_from([(1, 2), (2, 1), (2, 2), (3, 2), (2, 3)]))
        pairs = []
        for _ in range(draw(st.integers(1, 3))):
            order = draw(st.permutations(variables))
            cut = draw(st.integers(1, len(variables) - 1))
            pairs.append(b.product([region(sorted(order[:cut]), ka),
                                    region(sorted(order[cut:]), kb)], mode="kronecker"))
        return b.sum(pairs, positive((k, len(pairs) * ka * kb)))

    region(list(range(n)), draw(st.integers(1, 3)))
    root = b.groups[-1].id
    b.sum([root], positive((1, b.units(root))))
    return b.build()
