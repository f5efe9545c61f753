"""vectorize: the same values as the reference on random circuits (and with a unit cap), fewer
groups on sparse circuits, and the compiled torch module of the vectorized shipped circuits
equal to the unvectorized circuit to 1e-9 in float64."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from pcc.analysis import decomposability, smoothness
from pcc.backends.reference import log_likelihood
from pcc.ir import BINARY, CircuitBuilder
from pcc.transforms import Vectorize, apply_passes
from tests.strategies import circuits, data_for, deterministic_circuits
from tests.transform_helpers import assert_same_values


@given(st.data())
def test_vectorize_keeps_values(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    cap = data.draw(st.sampled_from([0, 1, 2, 5]))
    wide, report = Vectorize(max_units=cap)(circuit)
    assert_same_values(circuit, wide, x)
    assert smoothness(wide).smooth and decomposability(wide).decomposable
    assert report.groups_after == len(wide)


@given(st.data())
def test_vectorize_sparse_circuits(data):
    circuit = data.draw(deterministic_circuits())
    x = data.draw(data_for(circuit))
    wide, report = Vectorize()(circuit)
    assert_same_values(circuit, wide, x)
    # one input group per (variable, family): gathers may add groups, inputs never
    inputs = {(g.var, g.family) for g in circuit if g.kind == "input"}
    assert sum(g.kind == "input" for g in wide) == len(inputs)


def test_vectorize_report():
    b = CircuitBuilder([BINARY, BINARY])
    kids = [b.product([b.bernoulli(0, p=p), b.bernoulli(1, p=1 - p)]) for p in (0.2, 0.7)]
    b.sum(kids, [[0.4, 0.6]])
    circuit = b.build()
    wide, report = Vectorize()(circuit)
    assert report.text() == ("vectorize: 7 -> 4 groups, 7 -> 7 units (0 gathers), "
                             "sum weights 100.0% filled")
    assert [g.units for g in wide] == [2, 2, 2, 1]
    x = np.array([[0, 1], [1, np.nan], [np.nan, np.nan]])
    assert_same_values(circuit, wide, x)


SHIPPED = ["psdd/little_4var.psdd", "psdd/kdd-6k.psdd", "psdd/nltcs.psdd",
           "jpc/mnist_cats8_181.jpc", "libra/msweb/msweb.ac"]


@pytest.mark.parametrize("name", SHIPPED)
def test_vectorize_shipped_compiles_equal(shared_data, name):
    torch = pytest.importorskip("torch")
    from pcc.backends.torch import compile
    from pcc.io import load_circuit

    circuit = load_circuit(shared_data / "circuits" / name)
    wide, (report,) = apply_passes(circuit, ["vectorize"])
    if name == "psdd/kdd-6k.psdd":
        assert report.groups_after * 4 <= report.groups_before
    rng = np.random.default_rng(0)
    x = np.stack([rng.integers(0, d.size, 16) for d in circuit.domains], axis=1).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    want = log_likelihood(circuit, x)
    got = compile(wide, dtype=torch.float64)(x).detach().numpy()
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)
