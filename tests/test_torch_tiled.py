"""The one-call tiled CPU pass (`tile_kernel.c`) against the reference interpreter: every kind of
step, tiles that split the batch (a partial last tile), missing values, threads, and parameters
changed between calls."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pcc.backends.native.library as native
import pcc.backends.native.tiled as tiled
from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.backends.native.library import kernel
from pcc.data import check_data
from pcc.ir import BINARY, REAL, CircuitBuilder, DataError, Domain, categorical
from tests.strategies import circuits, data_for
from tests.test_torch_fused import sparse_circuits
from tests.test_torch_native_leaves import learned_like
from tests.torch_helpers import TOLERANCE, assert_logs_close

needs_kernel = pytest.mark.skipif(kernel() is None, reason="no C compiler: torch ops run instead")


@pytest.fixture(autouse=True, scope="module")
def smallest_tiles():
    """Tiles of 64 examples (the smallest), so that a few rows make several tiles."""
    saved, tiled.TILE_BYTES = tiled.TILE_BYTES, 1
    yield
    tiled.TILE_BYTES = saved


def _rows(x: np.ndarray, count: int) -> np.ndarray:
    """`count` rows cycling through those of `x`: several tiles of 64 and a partial one."""
    return x[np.arange(count) % len(x)]


def _tiled(circuit, dtype, x):
    model = compile(circuit, dtype=dtype)
    with torch.no_grad():
        got = model(x)
    return model, got


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=40)
@given(st.data(), st.sampled_from([1, 5, 130]))
def test_the_tiled_pass_equals_the_reference_on_sparse_circuits(dtype, data, count):
    circuit = data.draw(sparse_circuits())
    x = _rows(data.draw(data_for(circuit, max_rows=6)), count)
    model, got = _tiled(circuit, dtype, x)
    assert model._tiled is not None
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=40)
@given(st.data())
def test_the_tiled_pass_equals_the_reference_on_continuous_leaves(dtype, data):
    circuit, x = data.draw(learned_like())
    x = _rows(x, 70)
    model, got = _tiled(circuit, dtype, x)
    assert model._tiled is not None
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


@needs_kernel
@settings(max_examples=40)
@given(st.data())
def test_every_kind_of_one_unit_circuit_equals_the_reference(data):
    """Every family (Poisson and exponential leaves are evaluated beforehand, as rows)."""
    circuit = data.draw(circuits(max_units=1))
    x = _rows(data.draw(data_for(circuit, max_rows=5)), 67)
    _, got = _tiled(circuit, torch.float64, x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-9)


def _mixed_circuit():
    """A Gaussian, a categorical and an exponential variable (three kinds of leaf steps) under
    a product of two units and a one-unit sum."""
    b = CircuitBuilder([REAL, categorical(3), Domain("real")])
    g = b.gaussian(0, mean=[0.5, -1.0], std=[1.0, 2.0])
    c = b.categorical(1, probs=np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    e = b.input(2, "exponential", rate=[1.5, 0.5])
    b.sum([b.product([g, c, e])], weights=np.array([[0.3, 0.7]]))
    return b.build()


@needs_kernel
def test_parameters_changed_in_place_are_read_by_the_next_call():
    circuit = _mixed_circuit()
    x = np.array([[0.1, 0.0, 0.3], [np.nan, 2.0, 1.0], [3.0, np.nan, np.nan], [-2.0, 1.0, 4.0]])
    model = compile(circuit, dtype=torch.float64)
    with torch.no_grad():
        assert_logs_close(model(x), log_likelihood(circuit, x), 1e-12)
        gaussian = next(f for f in model.family_list if f.name == "gaussian")
        gaussian.mean.add_(0.25)                     # an optimizer step or EM does this
        for table in model.weight_tables():
            table.theta.mul_(1.5)
        changed = model.to_circuit()
        assert_logs_close(model(x), log_likelihood(changed, x), 1e-12)
        gaussian.log_std.data.view(-1)[0] = 0.7      # a write that bumps no version counter
        changed = model.to_circuit()
        assert_logs_close(model(x), log_likelihood(changed, x), 1e-12)
    assert not np.allclose(log_likelihood(changed, x), log_likelihood(circuit, x))


@needs_kernel
def test_tiles_split_over_threads_give_the_one_thread_values(monkeypatch):
    circuit = _mixed_circuit()
    x = np.random.default_rng(0).normal(size=(1000, 3))
    x[:, 1] = np.abs(x[:, 1]).round().clip(0, 2)
    x[:, 2] = np.abs(x[:, 2])
    x[::7, 0] = np.nan
    model = compile(circuit, dtype=torch.float32)
    threads = torch.get_num_threads()
    monkeypatch.setattr(native, "PARALLEL_ELEMENTS", 1)
    outs = []
    try:
        for n in (1, 3):
            torch.set_num_threads(n)
            with torch.no_grad():
                outs.append(model(x))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(outs[0], outs[1])
    assert_logs_close(outs[0], log_likelihood(circuit, x), 1e-4)


@needs_kernel
def test_circuits_with_einsum_blocks_keep_the_fused_pass():
    b = CircuitBuilder([BINARY] * 2)
    leaves = [b.bernoulli(v, [0.2, 0.7]) for v in range(2)]
    b.sum([b.product(leaves, mode="kronecker")], weights=np.full((1, 4), 0.25))
    circuit = b.build()
    x = np.array([[0.0, 1.0], [np.nan, 0.0]])
    model, got = _tiled(circuit, torch.float64, x)
    assert_logs_close(got, log_likelihood(circuit, x), 1e-12)
    if any(block.op in ("dense", "kron") for block in model.plan.blocks):
        assert model._tiled is None


@st.composite
def factorizations(draw: st.DrawFn) -> tuple[object, np.ndarray, int]:
    """A mixture of naive factorizations (LearnSPN's leaves of the structure): products of one
    leaf per variable, wider than a sum's inputs flatten (so each product is a row of its own
    that reads its leaves), over Gaussian, categorical, Bernoulli and histogram (unit and
    uneven breaks) leaves; one leaf is shared by two products (stored, not read in place).
    Returns the circuit, rows with NaN, and how many leaves are read in place."""
    n = draw(st.integers(5, 8))
    kinds = draw(st.lists(st.sampled_from(["gauss", "cat", "bern", "unit", "uneven"]),
                          min_size=n, max_size=n))
    domains = [categorical(4) if k in ("cat", "unit") else BINARY if k == "bern" else REAL
               for k in kinds]
    b = CircuitBuilder(domains)
    floats = st.floats(0.05, 1.0)

    def leaf(v: int) -> int:
        kind = kinds[v]
        if kind == "gauss":
            return b.gaussian(v, mean=[draw(st.floats(-2, 2))], std=[draw(st.floats(0.3, 2))])
        if kind == "bern":
            return b.bernoulli(v, p=[draw(st.floats(0.05, 0.95))])
        mass = np.array(draw(st.lists(floats, min_size=4, max_size=4)))
        if kind == "cat":
            return b.categorical(v, probs=(mass / mass.sum())[None, :])
        breaks = np.arange(5.0) if kind == "unit" else np.array([-2.0, -0.5, 0.0, 1.5, 70.0])
        return b.histogram(v, breaks=breaks[None, :],
                           densities=(mass / mass.sum() / np.diff(breaks))[None, :])

    count = draw(st.integers(2, 4))
    shared = leaf(0)
    products = [b.product([shared if (p < 2 and v == 0) else leaf(v) for v in range(n)])
                for p in range(count)]
    weights = np.array(draw(st.lists(floats, min_size=count, max_size=count)))
    b.sum(products, weights=[weights / weights.sum()])
    rows = []
    for _ in range(draw(st.integers(1, 9))):
        row = []
        for kind in kinds:
            value = {"gauss": draw(st.floats(-3, 3)), "uneven": draw(st.floats(-3, 80)),
                     "bern": float(draw(st.integers(0, 1)))}.get(kind)
            row.append(float(draw(st.integers(0, 3))) if value is None else value)
        rows.append([np.nan if draw(st.integers(0, 5)) == 0 else v for v in row])
    in_place = count * n - 2   # every leaf but the shared one (read by two products)
    return b.build(), np.array(rows), in_place


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=40)
@given(factorizations(), st.sampled_from([1, 130]))
def test_leaves_read_by_one_product_are_evaluated_in_place(dtype, case, count):
    circuit, x, in_place = case
    x = _rows(x, count)
    model, got = _tiled(circuit, dtype, x)
    assert model._tiled is not None
    assert len(model._tiled.layout.leaves) == in_place
    assert_logs_close(got, log_likelihood(circuit, x), TOLERANCE[dtype])


BAD_VALUES = [(0, 2.0), (1, 5.0), (1, -0.5), (1, 1.5), (2, np.inf), (2, -np.inf), (3, np.inf),
              (3, -1.0), (3, 3.25)]


@needs_kernel
@pytest.mark.parametrize("column, value", BAD_VALUES)
@pytest.mark.parametrize("chunks", [1, 3])
def test_the_kernel_refuses_what_check_data_does(column, value, chunks):
    """The tiled pass checks the values against their domains itself (`prepare` skips it): a
    bad value beyond the first tile and chunk, next to missing ones, gives check_data's
    DataError, which names its row in the whole batch."""
    domains = [BINARY, categorical(5), REAL, Domain("count")]
    b = CircuitBuilder(domains)
    parts = [b.bernoulli(0, [0.3]), b.categorical(1, probs=[[0.1, 0.2, 0.3, 0.2, 0.2]]),
             b.gaussian(2, mean=[0.5], std=[2.0]), b.input(3, "poisson", rate=[2.0]),
             b.gaussian(2, mean=[-1.0], std=[1.0])]
    b.sum([b.product(parts[:4]), b.product([*parts[:2], parts[4], parts[3]])],
          weights=[[0.4, 0.6]])
    circuit = b.build()
    rng = np.random.default_rng(1)
    x = np.stack([rng.integers(0, 2, 300), rng.integers(0, 5, 300), rng.normal(size=300),
                  rng.integers(0, 6, 300)], 1).astype(float)
    x[::5, 1] = np.nan
    model = compile(circuit, dtype=torch.float32)
    model.buffer_bytes = 100 * model._tiled_pass().bytes_per_row(4) if chunks > 1 else \
        model.buffer_bytes
    with torch.no_grad():
        assert model._tiled_checks()
        assert_logs_close(model(x), log_likelihood(circuit, x), TOLERANCE[torch.float32])
        bad = x.copy()
        bad[230, column] = value
        with pytest.raises(DataError) as error:
            model(bad)
    with pytest.raises(DataError) as expected:
        check_data(bad, domains)
    assert str(error.value) == str(expected.value) and "230" in str(error.value)
