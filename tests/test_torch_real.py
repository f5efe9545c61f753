"""Real learned circuits through the torch backend give the reference log-likelihoods of
../shared/data/circuits/SOURCE.md (skipped where the data or a reader is absent)."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from pcc.backends.torch import compile
from pcc.backends.native.library import kernel
from tests.torch_helpers import DEVICES, ENGINE_DEVICES

CASES = [
    # circuit, data (relative to shared data), expected mean test LL or first rows, rtol
    ("circuits/psdd/nltcs.psdd", "twenty/nltcs/nltcs.test.data.gz",
     {"first3": [-1.733486, -11.226721, -3.501384]}),
    ("circuits/psdd/nltcs.clt.psdd", "twenty/nltcs/nltcs.test.data.gz",
     {"mean": -6.759045, "first3": [-3.329912, -11.865657, -6.163489]}),
    ("circuits/psdd/plants.psdd", "twenty/plants/plants.test.data.gz",
     {"first3": [-20.254547, -8.033267, -6.142813]}),
    ("circuits/libra/alarm_acbn/alarm-test2.ac", "circuits/libra/alarm_acbn/alarm.data",
     {"mean": -10.575822}),
    ("circuits/libra/msweb/msweb-mn.ac", "circuits/libra/msweb/msweb.test",
     {"finite_mean": -12.026547, "zero_rows": [20, 52, 84]}),
    ("circuits/libra/msweb/msweb.spn", "circuits/libra/msweb/msweb.test",
     {"finite_mean": -10.315011, "zero_rows": [20, 52, 84]}),
    ("circuits/spflow_text/PLANTS_4000/structure.spn", "twenty/plants/plants.test.data.gz",
     {"mean": -20.096335}),
]


@lru_cache(maxsize=None)
def _read(path: Path):
    from pcc.io import load_circuit

    return load_circuit(path)


def load(shared: Path, circuit: str, data: str | None):
    try:
        from pcc.data import check_columns, read_data
    except ImportError as error:
        pytest.skip(f"readers not available: {error}")
    if not (shared / circuit).exists() or (data and not (shared / data).exists()):
        pytest.skip(f"{circuit} or {data} is absent")
    try:
        c = _read(shared / circuit)
    except Exception as error:  # a reader that is not registered yet
        pytest.skip(f"cannot read {circuit} yet: {error}")
    return c, (check_columns(read_data(shared / data), c.domains) if data else None)


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@pytest.mark.parametrize("circuit, data, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_circuits_give_the_published_log_likelihoods(shared_data, circuit, data, expected,
                                                          device, engine):
    c, x = load(shared_data, circuit, data)
    if "mean" not in expected and "finite_mean" not in expected:
        x = x[:3]
    for dtype in (torch.float64, torch.float32):
        check(compile(c, dtype=dtype, device=device, engine=engine), x, expected,
              1e-6 if dtype == torch.float64 else 1e-4)


@pytest.mark.skipif(kernel() is None, reason="no C compiler: no native engine")
@pytest.mark.parametrize("circuit, data, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_both_engines_give_the_same_gradients_on_real_circuits(shared_data, circuit, data,
                                                               expected):
    """Forward and every parameter's gradient (the native engine's flows against the torch
    engine's backward), float64, on 60 rows of each circuit's data."""
    c, x = load(shared_data, circuit, data)
    x = x[:60]
    grads = {}
    for engine in ("torch", "native"):
        model = compile(c, dtype=torch.float64, engine=engine)
        ll = model(x)
        ll[torch.isfinite(ll)].sum().backward()
        grads[engine] = (ll.detach(), [p.grad for p in model.parameters()])
    (ll_t, g_t), (ll_n, g_n) = grads["torch"], grads["native"]
    assert torch.equal(torch.isneginf(ll_t), torch.isneginf(ll_n))
    finite = torch.isfinite(ll_t)
    assert torch.allclose(ll_t[finite], ll_n[finite], rtol=1e-9, atol=1e-9)
    for a, b in zip(g_t, g_n):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-9), (circuit, (a - b).abs().max())


def check(model, x, expected, tol):
    with torch.no_grad():
        ll = model(x).double().cpu().numpy()
    if "mean" in expected:
        assert ll.mean() == pytest.approx(expected["mean"], abs=tol + 1e-6)
    if "first3" in expected:
        assert ll[:3] == pytest.approx(expected["first3"], abs=tol * 10 + 1e-6)
    if "zero_rows" in expected:
        assert np.flatnonzero(np.isneginf(ll)).tolist() == expected["zero_rows"]
        assert not np.isnan(ll).any()
        assert ll[np.isfinite(ll)].mean() == pytest.approx(expected["finite_mean"], abs=tol + 1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_the_mnist_circuit_gives_its_published_first_rows(shared_data, device):
    c, _ = load(shared_data, "circuits/jpc/mnist_cats8_181.jpc", None)
    from pcc.data import read_idx

    images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")[:3]
    x = (images.reshape(3, -1) / 255.0 > 0.5).astype(np.float64)
    with torch.no_grad():
        ll = compile(c, dtype=torch.float64, device=device)(x).cpu().numpy()
    assert ll == pytest.approx([-75.923788, -117.757056, -54.643647], abs=1e-5)
