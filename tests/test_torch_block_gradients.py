"""Closed-form block gradients (einsums, sums, products) equal autograd through the block's
forward computation."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.torch.blocks import BlockOp, ProductOp, Scratch, SumOp
from pcc.backends.torch.einsum import KronOp
from pcc.backends.torch.params import NEG_INF
from pcc.layering import NEG_INF_COLUMN
from pcc.layering import ZERO, Block


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
    with torch.no_grad():
        log_w = op.table()  # type: ignore[misc]
    out = op.compute([a, b], log_w)
    grad = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    grad = torch.where(torch.isneginf(out), 0.0, grad)  # the backward pass zeroes these
    expected_inputs, expected_w = BlockOp.vjp(op, [a.clone(), b.clone()], log_w, grad)
    inputs, grad_w = op.vjp([a, b], log_w, grad)
    for got, want in zip(inputs + [grad_w], expected_inputs + [expected_w]):
        assert torch.isfinite(got).all()
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12), (got - want).abs().max()


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(["sum", "product"]), rows=st.integers(1, 5), fan=st.integers(1, 20),
       B=st.integers(1, 4), seed=st.integers(0, 2**16), zeros=st.floats(0.0, 0.5))
def test_closed_form_sum_and_product_gradients_equal_autograd(op, rows, fan, B, seed, zeros):
    rng = np.random.default_rng(seed)
    columns = 2 + 6  # ZERO, NEG_INF, then six input columns; the block writes after them
    index = rng.integers(2, columns, size=(rows, fan))
    pad = rng.random((rows, fan)) < 0.2
    pad[:, 0] = False
    index[pad] = ZERO if op == "product" else NEG_INF_COLUMN
    slots = np.where(pad, -1, np.arange(rows * fan).reshape(rows, fan))
    block = Block(op, 1, np.arange(rows), columns, columns + rows, index,
                  weight_slots=slots if op == "sum" else None, fan_in=fan)
    weights = rng.dirichlet(np.ones(fan), rows).ravel() if op == "sum" else None
    module = (SumOp if op == "sum" else ProductOp)(block, weights, torch.float64)
    with torch.no_grad():
        log_w = None if module.table is None else module.table()
    buf = torch.as_tensor(rng.normal(scale=20, size=(columns + rows, B)))
    buf[2:columns][torch.as_tensor(rng.random((columns - 2, B)) < zeros)] = NEG_INF
    buf[ZERO], buf[NEG_INF_COLUMN] = 0.0, NEG_INF
    module.fast(buf, buf[columns:], Scratch(), log_w)
    grad = torch.as_tensor(rng.normal(size=(rows, B)))
    grad = torch.where(torch.isneginf(buf[columns:]), 0.0, grad)
    want, got = torch.zeros_like(buf), torch.zeros_like(buf)
    want_w = BlockOp.backward_into(module, buf, want, log_w, grad)
    got_w = module.backward_into(buf, got, log_w, grad)
    assert torch.allclose(got[2:columns], want[2:columns], rtol=1e-9, atol=1e-12)
    if want_w is not None:
        assert torch.allclose(got_w, want_w, rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 4), B=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_closed_form_gaussian_gradients_equal_autograd(rows, B, seed):
    from pcc.backends.torch.families import Gaussian

    rng = np.random.default_rng(seed)
    family = Gaussian(np.zeros(rows, dtype=np.int64),
                      {"mean": rng.normal(size=rows), "std": rng.uniform(0.2, 3.0, rows)},
                      torch.float64)
    xs = torch.as_tensor(rng.normal(scale=3, size=(rows, B)))
    grad = torch.as_tensor(rng.normal(size=(rows, B)))
    want = torch.autograd.grad(family.log_prob(xs), [family.mean, family.log_std], grad)
    out = family.log_prob_owned(xs.clone())
    assert torch.allclose(out, family.log_prob(xs), rtol=1e-12)
    got = torch.autograd.grad(out, [family.mean, family.log_std], grad)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, rtol=1e-10, atol=1e-12)


def test_einsums_evaluated_in_group_slices_equal_one_slice(monkeypatch):
    import pcc.backends.torch.einsum as einsum
    from pcc.backends.torch import compile
    from pcc.regions import build_circuit, random_binary_trees

    circuit = build_circuit(random_binary_trees(8, 2, 3, seed=1), units=3, leaf="bernoulli",
                            seed=0)
    x = (np.random.default_rng(0).random((6, 8)) < 0.5).astype(float)
    x[0, 2] = np.nan

    def run():
        model = compile(circuit, dtype=torch.float64)
        ll = model(x)
        ll.sum().backward()
        with torch.no_grad():
            fast = model(x)
        return ll.detach(), fast, [p.grad.clone() for p in model.parameters()]

    whole = run()
    monkeypatch.setattr(einsum, "KRON_ELEMENTS", 1)  # one group per slice
    sliced = run()
    assert torch.allclose(whole[0], sliced[0], rtol=1e-12)
    assert torch.allclose(whole[1], sliced[1], rtol=1e-12)
    for a, b in zip(whole[2], sliced[2]):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
