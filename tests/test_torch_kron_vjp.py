"""The fused einsum's closed-form gradients equal autograd through its forward computation."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.torch.blocks import BlockOp, KronOp
from pcc.layering import Block


def kron_op(G: int, P: int, K: int, Ka: int, Kb: int) -> KronOp:
    index_a = np.zeros((G, P, Ka), dtype=np.int64)
    index_b = np.zeros((G, P, Kb), dtype=np.int64)
    slots = np.arange(G * K * P * Ka * Kb).reshape(G, K, P, Ka, Kb)
    block = Block("kron", 1, np.arange(G), 2, 2 + G * K, index_a, index_b=index_b,
                  weight_slots=slots, units=K, fan_in=P * Ka * Kb)
    weights = np.random.default_rng(0).dirichlet(np.ones(P * Ka * Kb), G * K).ravel()
    return KronOp(block, weights, torch.float64)


@settings(max_examples=25, deadline=None)
@given(G=st.integers(1, 3), P=st.integers(1, 3), K=st.integers(1, 4), Ka=st.integers(1, 3),
       Kb=st.integers(1, 3), B=st.integers(1, 4), seed=st.integers(0, 2**16),
       zeros=st.floats(0.0, 0.5))
def test_closed_form_gradients_equal_autograd(G, P, K, Ka, Kb, B, seed, zeros):
    op = kron_op(G, P, K, Ka, Kb)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(G, P, Ka, B, generator=gen, dtype=torch.float64) * 30
    b = torch.randn(G, P, Kb, B, generator=gen, dtype=torch.float64) * 30
    # exact zeros (log 0) in the inputs, sometimes a whole pair's worth
    a[torch.rand(a.shape, generator=gen) < zeros] = float("-inf")
    b[torch.rand(b.shape, generator=gen) < zeros] = float("-inf")
    log_w = op.table()  # type: ignore[misc]
    out = op.compute([a, b], log_w)
    grad = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    grad = torch.where(torch.isneginf(out), 0.0, grad)  # the backward pass zeroes these
    expected_inputs, expected_w = BlockOp.vjp(op, [a.clone(), b.clone()], log_w, grad)
    inputs, grad_w = op.vjp([a, b], log_w, grad)
    for got, want in zip(inputs + [grad_w], expected_inputs + [expected_w]):
        assert torch.isfinite(got).all()
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12), (got - want).abs().max()
