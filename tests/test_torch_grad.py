"""Autograd gradients of the log-likelihood against central finite differences (float64)."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from tests.strategies import circuits, data_for
from tests.torch_helpers import ENGINE_DEVICES, kron_circuits

EPS = 1e-6


def check_gradients(circuit, x, device: str = "cpu", engine: str = "auto") -> None:
    finite = np.isfinite(log_likelihood(circuit, x))
    assume(finite.any())
    x = x[finite]
    model = compile(circuit, dtype=torch.float64, device=device, engine=engine)
    model(x).sum().backward()
    checked = 0
    for name, p in model.named_parameters():
        flat, grads = p.data.view(-1), p.grad.view(-1)
        for i in range(min(flat.numel(), 3)):       # a few entries of every parameter
            old = flat[i].item()
            with torch.no_grad():
                flat[i] = old + EPS
                up = model(x).sum().item()
                flat[i] = old - EPS
                down = model(x).sum().item()
                flat[i] = old
            numeric = (up - down) / (2 * EPS)
            assert abs(grads[i].item() - numeric) <= 1e-5 * max(1.0, abs(numeric)), \
                (name, i, grads[i].item(), numeric)
            checked += 1
    assert checked > 0 or not list(model.parameters())


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@settings(max_examples=15)
@given(st.data())
def test_gradients_match_finite_differences(device, engine, data):
    circuit = data.draw(circuits(max_vars=3, max_depth=3))
    check_gradients(circuit, data.draw(data_for(circuit, max_rows=4)), device, engine)


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@settings(max_examples=10)
@given(st.data())
def test_gradients_through_fused_einsums_match_finite_differences(device, engine, data):
    circuit = data.draw(kron_circuits(max_vars=4))
    check_gradients(circuit, data.draw(data_for(circuit, max_rows=4)), device, engine)
