"""binarize, condition and marginalize against the reference on random circuits; reports."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from pcc.analysis import normalization
from pcc.backends.reference import log_likelihood
from pcc.ir import BINARY, CircuitBuilder
from pcc.transforms import Binarize, Condition, Marginalize, TransformError, apply_passes
from tests.strategies import circuits, data_for
from tests.transform_helpers import assert_same_values


@given(st.data())
def test_binarize_keeps_values(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    binary, report = Binarize()(circuit)
    assert_same_values(circuit, binary, x)
    assert all(len(g.children) <= 2 for g in binary)
    assert normalization(binary).normalized


def _subset(draw, circuit):
    n = circuit.num_vars
    chosen = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1, unique=True))
    return sorted(chosen)


@given(st.data())
def test_marginalize_keeps_values(data):
    circuit = data.draw(circuits(max_vars=4).filter(lambda c: c.num_vars > 1))
    gone = _subset(data.draw, circuit)
    x = data.draw(data_for(circuit))
    small, report = Marginalize(tuple(gone))(circuit)
    full = x.copy()
    full[:, gone] = np.nan
    rest = [v for v in range(circuit.num_vars) if v not in gone]
    np.testing.assert_allclose(log_likelihood(small, x[:, rest]), log_likelihood(circuit, full),
                               rtol=1e-9, atol=1e-9)
    assert small.num_vars == len(rest)


@given(st.data())
def test_condition_gives_the_conditional(data):
    circuit = data.draw(circuits(max_vars=4).filter(lambda c: c.num_vars > 1))
    fixed = _subset(data.draw, circuit)
    x = data.draw(data_for(circuit))
    e = data.draw(data_for(circuit, max_rows=1, missing=False))[0]
    full = x.copy()
    full[:, fixed] = e[fixed]
    log_e = log_likelihood(circuit, np.where(np.isin(np.arange(circuit.num_vars), fixed),
                                             e, np.nan)[None, :])[0]
    if not np.isfinite(log_e):
        with pytest.raises(TransformError):
            Condition(dict(zip(fixed, e[fixed])))(circuit)
        return
    small, report = Condition(dict(zip(fixed, e[fixed])))(circuit)
    assert abs(report.log_evidence - log_e) < 1e-9
    rest = [v for v in range(circuit.num_vars) if v not in fixed]
    want = log_likelihood(circuit, full) - log_e
    got = log_likelihood(small, x[:, rest])
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


def _chain():
    b = CircuitBuilder([BINARY, BINARY, BINARY])
    leaves = [b.bernoulli(v, p=[0.2, 0.7]) for v in range(3)]
    b.sum([b.product(leaves)], [[0.5, 0.5]])
    return b.build()


def test_reports():
    circuit = _chain()
    _, reports = apply_passes(circuit, "binarize,marginalize:1,condition:0=1")
    assert [r.text() for r in reports] == [
        "binarize: 1 products and 0 sums of fan-in > 2 split, 5 -> 6 groups",
        "marginalize: summed out x1; 3 -> 2 variables, 6 -> 4 groups",
        "condition: on x0=1: log p(e) = -0.798508; 2 -> 1 variables",
    ]


def test_errors():
    circuit = _chain()
    with pytest.raises(TransformError, match="condition: cannot read evidence 'a'"):
        apply_passes(circuit, "condition:a")
    with pytest.raises(TransformError, match="marginalize: variable x7 does not exist"):
        apply_passes(circuit, "marginalize:7")
    with pytest.raises(TransformError, match="condition: x0=2 is outside its domain"):
        apply_passes(circuit, "condition:0=2")
    with pytest.raises(TransformError, match="every variable of the circuit is fixed"):
        apply_passes(circuit, "marginalize:0:1:2")
    with pytest.raises(TransformError, match="pass 'prune' takes no arguments"):
        apply_passes(circuit, "prune:3")
