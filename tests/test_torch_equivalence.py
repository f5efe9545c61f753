"""The torch backend against the reference interpreter on random valid circuits and data."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.reference import evaluate, log_likelihood
from pcc.backends.torch import compile
from pcc.ir import Circuit
from pcc.ir.builder import _reachable
from pcc.layering import layer
from tests.strategies import circuits, data_for
from tests.torch_helpers import (DEVICES, ENGINE_DEVICES, TOLERANCE, assert_logs_close,
                                 kron_circuits)


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=60)
@given(st.data())
def test_torch_equals_reference_with_missing_values(dtype, device, engine, data):
    circuit = data.draw(circuits(max_units=4))
    x = data.draw(data_for(circuit, max_rows=8))
    model = compile(circuit, dtype=dtype, device=device, engine=engine)
    assert_logs_close(model(x), log_likelihood(circuit, x), TOLERANCE[dtype])


@settings(max_examples=25)
@given(st.data(), st.sampled_from([0.0, 0.5, 0.9]), st.booleans())
def test_every_padding_budget_and_fusion_choice_gives_the_same_values(data, padding, fuse):
    circuit = data.draw(circuits(max_units=4))
    x = data.draw(data_for(circuit, max_rows=5))
    plan = layer(circuit, padding=padding, fuse=fuse)
    assert_logs_close(compile(plan, dtype=torch.float64)(x), log_likelihood(circuit, x), 1e-9)


@settings(max_examples=20)
@given(st.data())
def test_a_mask_marginalizes_like_nan(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit, max_rows=5, missing=False))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=x.size, max_size=x.size)))
    mask = mask.reshape(x.shape)
    model = compile(circuit, dtype=torch.float64)
    assert_logs_close(model(x, mask=mask), log_likelihood(circuit, np.where(mask, np.nan, x)), 1e-9)


@settings(max_examples=20)
@given(st.data())
def test_a_multi_unit_root_gives_every_unit(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit, max_rows=4))
    # the root's first child as the output: every unit of an inner group is compared
    inner = circuit.groups[circuit.root.children[0]]
    sub = Circuit(_reachable(list(circuit.groups), inner.id), circuit.domains)
    want = evaluate(sub, x)[-1]
    got = compile(sub, dtype=torch.float64)(x)
    assert_logs_close(got.reshape(want.shape), want, 1e-9)


def test_the_chunked_evaluation_equals_one_chunk():
    from tests.test_torch_numerics import deep_chain

    circuit = deep_chain(50)
    x = np.random.default_rng(0).integers(0, 2, (37, 2)).astype(float)
    small = compile(circuit, dtype=torch.float64, buffer_bytes=1)          # one row per chunk
    assert_logs_close(small(x), log_likelihood(circuit, x), 1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=25)
@given(st.data())
def test_fused_kronecker_einsums_equal_reference(dtype, device, data):
    circuit = data.draw(kron_circuits())
    plan = layer(circuit)
    assert any(b.op == "kron" for b in plan.blocks)
    x = data.draw(data_for(circuit, max_rows=6))
    assert_logs_close(compile(plan, dtype=dtype, device=device)(x), log_likelihood(circuit, x), TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=40)
@given(st.data())
def test_the_no_grad_fast_path_equals_reference(dtype, data):
    circuit = data.draw(st.one_of(circuits(max_units=4), kron_circuits()))
    x = data.draw(data_for(circuit, max_rows=8))
    model = compile(circuit, dtype=dtype)
    with torch.no_grad():
        got = model(x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])
    assert_logs_close(model(x), got.double().numpy(), TOLERANCE[dtype])   # grad path agrees


@pytest.mark.parametrize("start", [0.0, -2.0, 0.5])  # 0.5: not integer breaks, searched
def test_histograms_with_unit_bins_on_a_real_variable(start):
    from pcc.ir import REAL, CircuitBuilder

    b = CircuitBuilder([REAL])
    breaks = start + np.arange(4.0)
    b.sum([b.histogram(0, breaks=np.tile(breaks, (2, 1)),
                       densities=np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]))],
          weights=[[0.4, 0.6]])
    circuit = b.build()
    x = (start + np.array([[0.0], [0.5], [1.0], [2.999], [3.0], [-0.25], [1e-12], [np.nan]]))
    want = log_likelihood(circuit, x)
    for dtype in (torch.float64, torch.float32):
        model = compile(circuit, dtype=dtype)
        assert_logs_close(model(x), want, TOLERANCE[dtype])      # under autograd: torch ops
        with torch.no_grad():                                     # the native path on the CPU
            assert_logs_close(model(x), want, TOLERANCE[dtype])
