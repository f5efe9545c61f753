"""Numerics of the torch backend: -inf rows, deep chains, long products, both dtypes."""

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder
from tests.torch_helpers import DEVICES, TOLERANCE, assert_logs_close

DTYPES = [torch.float64, torch.float32]


def deep_chain(depth: int) -> Circuit:
    """depth nested sums, each mixing the previous one with a fresh product of two leaves."""
    b = CircuitBuilder([BINARY] * 2)
    node = b.product([b.bernoulli(0, 0.01), b.bernoulli(1, 0.01)])
    for _ in range(depth):
        node = b.sum([node, b.product([b.bernoulli(0, 0.01), b.bernoulli(1, 0.01)])],
                     weights=[0.5, 0.5])
    return b.build()


def zero_row_circuit() -> Circuit:
    b = CircuitBuilder([BINARY, BINARY, REAL])
    left = b.product([b.indicator(0, 1), b.bernoulli(1, [0.3]), b.gaussian(2, 0.0, 1.0)])
    right = b.product([b.indicator(0, 1), b.bernoulli(1, [1.0]), b.gaussian(2, 1.0, 2.0)])
    b.sum([left, right], weights=[0.4, 0.6])
    return b.build()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_1000_deep_chain_does_not_underflow(dtype, device):
    circuit = deep_chain(1000)
    x = np.array([[1, 1], [0, 1], [np.nan, 1]])
    got = compile(circuit, dtype=dtype, device=device)(x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])
    assert got[0].item() == pytest.approx(2 * np.log(0.01), rel=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_product_of_a_thousand_leaves_stays_finite(dtype):
    b = CircuitBuilder([BINARY] * 1000)
    b.sum([b.product([b.bernoulli(v, [0.01, 0.5]) for v in range(1000)])], weights=[[0.3, 0.7]])
    circuit = b.build()
    x = np.ones((2, 1000))
    got = compile(circuit, dtype=dtype)(x)
    assert torch.isfinite(got).all()
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_zero_probability_row_is_minus_infinity_and_its_gradient_is_not_nan(dtype, device):
    circuit = zero_row_circuit()
    model = compile(circuit, dtype=dtype, device=device)
    x = np.array([[0, 1, 0.5], [1, 0, 0.5], [1, 1, 0.5]])
    ll = model(x)
    assert ll[0].item() == -np.inf and ll[1].item() > -np.inf
    assert_logs_close(ll, log_likelihood(circuit, x), TOLERANCE[dtype])
    ll[0].backward()
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name
        assert not p.grad.any(), name        # the zero row carries no gradient at all
    model.zero_grad()
    model(x).sum().backward()                   # -inf in the sum: finite parameter gradients still
    for name, p in model.named_parameters():
        assert not torch.isnan(p.grad).any(), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_zero_weights_stay_zero_and_keep_minus_infinity(dtype):
    b = CircuitBuilder([BINARY])
    leaves = b.bernoulli(0, [0.0, 1.0])
    b.sum([leaves], weights=[[1.0, 0.0]])      # only the p=0 leaf: x=1 is impossible
    circuit = b.build()
    model = compile(circuit, dtype=dtype)
    ll = model(np.array([[0.0], [1.0]]))
    assert ll[0].item() == 0.0 and ll[1].item() == -np.inf
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        loss = -model(np.array([[0.0], [0.0]])).sum()
        loss.backward()
        optimizer.step()
    trained = model.to_circuit()
    assert trained.root.weights[0, 1] == 0.0 and trained.groups[0].params["p"][0] == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_and_fused_blocks_keep_a_wide_range_of_values(dtype):
    # children values differ by ~1000 nats: linear-space einsums must subtract the max
    rng = np.random.default_rng(1)
    b = CircuitBuilder([BINARY] * 200 + [REAL])
    left = b.product([b.bernoulli(v, rng.uniform(0.001, 0.01, 3)) for v in range(200)])
    right = b.gaussian(200, mean=[0.0, 5.0], std=[1.0, 0.01])
    kron = b.product([left, right], mode="kronecker")
    top = b.sum([kron], weights=rng.dirichlet(np.ones(6), 4))
    b.sum([top], weights=rng.dirichlet(np.ones(4)))
    circuit = b.build()
    x = np.concatenate([np.ones((3, 200)), [[0.0], [5.0], [np.nan]]], axis=1)
    got = compile(circuit, dtype=dtype)(x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


def test_float32_and_float64_models_agree():
    circuit = deep_chain(30)
    x = np.array([[0, 0], [1, 0], [np.nan, np.nan]])
    a = compile(circuit, dtype=torch.float32)(x)
    b = compile(circuit, dtype=torch.float64)(x)
    assert a.dtype == torch.float32 and b.dtype == torch.float64
    assert_logs_close(a, b.detach().numpy(), 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fan_in", [3, 16, 17, 40])
def test_wide_sparse_sums_with_zeros_and_far_apart_terms(dtype, fan_in):
    # both forward strategies (pairwise log-add-exp, exp-sum-log) with -inf terms, zero weights
    # and terms ~1000 nats apart
    rng = np.random.default_rng(fan_in)
    b = CircuitBuilder([BINARY, REAL])
    kids = [b.product([b.indicator(0, int(i % 2)), b.gaussian(1, float(i % 7), 0.01 + i / 50)])
            for i in range(fan_in)]
    weights = rng.dirichlet(np.ones(fan_in))
    weights[1] = 0.0
    b.sum(kids, weights=weights / weights.sum())
    circuit = b.build()
    x = np.array([[0, 0.0], [1, 3.0], [0, 100.0], [np.nan, 2.0], [1, np.nan]])
    model = compile(circuit, dtype=dtype)
    with torch.no_grad():
        got = model(x)
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])
