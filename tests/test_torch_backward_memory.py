"""The backward pass that reuses the activation buffer for the gradients (`Evaluate`,
`Program.values`) and EM's sliced M-step, against the reference interpreter."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pcc.backends.torch.einsum as einsum
import pcc.learn.em as em_module
from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.learn import EM
from pcc.regions import build_circuit, random_binary_trees
from tests.strategies import circuits, data_for

EPS = 1e-6


def reference_gradients_agree(model, x: np.ndarray, entries: int = 3) -> int:
    """dLL/dtheta of the torch backward against central differences of the reference
    interpreter on `model.to_circuit()`; returns how many entries were checked."""
    model.zero_grad(set_to_none=True)
    model(x).sum().backward()
    checked = 0
    for name, p in model.named_parameters():
        flat, grads = p.data.view(-1), p.grad.view(-1)
        for i in range(min(flat.numel(), entries)):
            old = flat[i].item()
            with torch.no_grad():
                flat[i] = old + EPS
                up = log_likelihood(model.to_circuit(), x).sum()
                flat[i] = old - EPS
                down = log_likelihood(model.to_circuit(), x).sum()
                flat[i] = old
            numeric = (up - down) / (2 * EPS)
            assert abs(grads[i].item() - numeric) <= 1e-5 * max(1.0, abs(numeric)), \
                (name, i, grads[i].item(), numeric)
            checked += 1
    return checked


def rat(units: int = 3, leaf: str = "bernoulli"):
    return build_circuit(random_binary_trees(8, 2, 2, seed=1), units=units, leaf=leaf, seed=0)


def rat_data(leaf: str, rows: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((rows, 8)) < 0.4).astype(float) if leaf == "bernoulli" \
        else rng.normal(size=(rows, 8))


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_gradients_match_the_reference_on_random_circuits(data):
    # sums of leaves, products of sums, shared children: leaf columns read by sums are kept
    circuit = data.draw(circuits(max_vars=3, max_depth=3))
    x = data.draw(data_for(circuit, max_rows=4))
    finite = np.isfinite(log_likelihood(circuit, x))
    assume(finite.any())
    model = compile(circuit, dtype=torch.float64)
    assert reference_gradients_agree(model, x[finite]) > 0 or not list(model.parameters())


@pytest.mark.parametrize("leaf", ["bernoulli", "gaussian"])
def test_gradients_match_the_reference_on_einsum_circuits_sliced(leaf, monkeypatch):
    # einsums over one group at a time: the gradient table is filled slice by slice
    monkeypatch.setattr(einsum, "KRON_ELEMENTS", 1)
    model = compile(rat(leaf=leaf), dtype=torch.float64)
    assert reference_gradients_agree(model, rat_data(leaf), entries=4) > 0


def test_leaf_rows_read_by_products_only_are_not_kept():
    model = compile(rat(), dtype=torch.float64)
    program = model.program
    leaves = set(range(2, 2 + program.num_leaves))
    assert not leaves & set(program.saved_columns.tolist())
    for block in program.blocks:  # every output is kept, in order
        kept = program.saved_columns[np.searchsorted(program.saved_columns, block.start):]
        assert kept[:block.stop - block.start].tolist() == list(range(block.start, block.stop))


def test_a_second_backward_through_one_pass_is_refused():
    model = compile(rat(), dtype=torch.float64)
    out = model(rat_data("bernoulli")).sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="second backward"):
        out.backward()


@pytest.mark.parametrize("leaf", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("step", [1.0, 0.3])
def test_sliced_em_equals_one_slice_and_the_reference_reads_it(leaf, step, monkeypatch):
    x = rat_data(leaf, rows=20)
    results = []
    for elements in (1 << 30, 1):  # all units at once; one sum unit / leaf unit at a time
        monkeypatch.setattr(em_module, "STATISTICS_ELEMENTS", elements)
        model = compile(rat(leaf=leaf), dtype=torch.float64)
        em = EM(model)
        for _ in range(2):
            em.accumulate(torch.as_tensor(x[:10]))
            em.accumulate(torch.as_tensor(x[10:]))
            em.update(step=step)
        results.append(model)
    whole, sliced = results
    for (name, a), b in zip(whole.state_dict().items(), sliced.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12), name
    with torch.no_grad():
        got = sliced(x).numpy()
    np.testing.assert_allclose(got, log_likelihood(sliced.to_circuit(), x), rtol=1e-9)
    assert not np.allclose(got, log_likelihood(rat(leaf=leaf), x))  # EM changed the model


def test_log_table_rows_read_and_write_like_the_whole_table():
    model = compile(rat(), dtype=torch.float64)
    for table in model.weight_tables():
        whole = table()
        for start in range(0, table.num_rows, 2):
            rows = slice(start, start + 2)
            assert torch.equal(table.read_rows(rows), whole[rows])
        target = torch.log_softmax(torch.randn(whole.shape, dtype=torch.float64), 1)
        live = table.live_rows()
        for start in range(0, table.num_rows, 3):
            rows = slice(start, start + 3)
            table.assign_rows(rows, target[rows], live[rows])
        assert torch.allclose(table()[live], target[live])
