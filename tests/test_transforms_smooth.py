"""smooth and normalize against the reference: a circuit made non-smooth on purpose keeps its
exact values after smooth; a rescaled circuit normalizes back with log Z reported."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from pcc.analysis import normalization, smoothness
from pcc.backends.reference import log_likelihood
from pcc.ir import BINARY, REAL, Circuit, CircuitBuilder, Input, Product, Sum
from pcc.ir.builder import renumber
from pcc.transforms import Normalize, Smooth, TransformError, apply_passes
from tests.strategies import DISCRETE_DOMAINS, all_assignments, circuits, data_for
from tests.transform_helpers import assert_same_values


def roughen(draw, circuit: Circuit) -> Circuit:
    """Drop one child of some products (a 1-unit one for kronecker): sums above them then
    see children of different scopes."""
    groups = list(circuit.groups)
    for g in circuit.groups:
        if isinstance(g, Product) and len(g.children) > 1 and draw(st.booleans()):
            units = [circuit[c].units for c in g.children]
            drop = [i for i, u in enumerate(units) if g.mode == "hadamard" or u == 1]
            if drop:
                i = draw(st.sampled_from(drop))
                kids = g.children[:i] + g.children[i + 1:]
                groups[g.id] = Product(g.id, g.units, kids, g.mode, g.origin)
    from pcc.ir import CircuitBuilder as B

    b = B(list(circuit.domains))
    b.groups = groups
    return b.build()


@given(st.data())
def test_smooth_gives_back_exact_values(data):
    circuit = roughen(data.draw, data.draw(circuits(domains=DISCRETE_DOMAINS)))
    x = data.draw(data_for(circuit))
    smooth, report = Smooth()(circuit)
    assert smoothness(smooth).smooth
    assert_same_values(circuit, smooth, x)
    assert (report.sums_fixed > 0) == (not smoothness(circuit).smooth)


def _rough():
    b = CircuitBuilder([BINARY, BINARY, BINARY])
    x0, x1 = b.bernoulli(0, p=0.3), b.bernoulli(1, p=0.6)
    both = b.product([x0, x1])
    b.sum([both, b.bernoulli(0, p=0.9)], [[0.5, 0.5]])
    return b


def test_smooth_report_and_values():
    circuit = _rough().build()
    smooth, report = Smooth()(circuit)
    assert report.text() == ("smooth: 1 sums completed (1 children, 1 one-valued factors), "
                             "5 -> 7 groups")
    assert_same_values(circuit, smooth, all_assignments(circuit))
    assert Smooth()(smooth)[1].text() == "smooth: already smooth (7 groups)"


def test_smooth_refuses_a_non_decomposable_circuit():
    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=0.3)
    b.sum([b.product([x, b.bernoulli(0, p=0.5)])], [[1.0]])
    with pytest.raises(TransformError, match=r"^smooth: cannot apply: product #2 is not "
                       r"decomposable: .*shared: \{0\}"):
        Smooth()(b.build())


def test_smooth_refuses_a_real_variable():
    b = CircuitBuilder([BINARY, REAL])
    x0, x1 = b.bernoulli(0, p=0.3), b.gaussian(1, mean=0.0, std=1.0)
    b.sum([b.product([x0, x1]), b.bernoulli(0, p=0.9)], [[0.5, 0.5]])
    with pytest.raises(TransformError, match=r"smooth: cannot complete child #3 of sum #4 "
                       "with x1: it is real"):
        Smooth()(b.build())


def rescale(draw, circuit: Circuit, leaves: bool) -> Circuit:
    groups = []
    for g in circuit.groups:
        if isinstance(g, Sum):
            g = Sum(g.id, g.units, g.children, g.weights * draw(st.floats(0.1, 10.0)), g.mode)
        elif leaves and isinstance(g, Input) and g.family == "categorical":
            g = Input(g.id, g.units, g.var, g.family,
                      {"probs": g.params["probs"] * draw(st.floats(0.1, 10.0))})
        groups.append(g)
    return Circuit(groups, circuit.domains)


@given(st.data())
def test_normalize_rescaled_weights(data):
    circuit = rescale(data.draw, data.draw(circuits()), leaves=False)
    x = data.draw(data_for(circuit))  # missing values too: marginalizing sums is exact
    normal, report = Normalize()(circuit)
    assert normalization(normal).normalized
    assert_same_values(circuit, normal, x, shift=report.log_z)


@given(st.data())
def test_normalize_rescaled_leaves(data):
    circuit = rescale(data.draw, data.draw(circuits(domains=DISCRETE_DOMAINS)), leaves=True)
    normal, report = Normalize()(circuit)
    assert normalization(normal).normalized
    x = all_assignments(circuit)
    assert_same_values(circuit, normal, x, shift=report.log_z)
    total = np.logaddexp.reduce(log_likelihood(circuit, x))
    assert abs(total - report.log_z) < 1e-9


def test_normalize_report_and_refusal():
    b = _rough()
    circuit, reports = apply_passes(b.build(), "smooth,normalize")
    assert reports[1].text() == "normalize: log Z = 0.405465; 1 sums and 1 inputs rescaled"
    assert normalization(circuit).normalized
    with pytest.raises(TransformError, match=r"^normalize: cannot apply: sum #4 is not smooth"):
        Normalize()(b.build())


def test_normalize_shipped_libra(shared_data):
    from pcc.io import load_circuit

    path = shared_data / "circuits" / "libra" / "msweb" / "msweb.ac"
    circuit = load_circuit(path)
    normal, report = apply_passes(circuit, "smooth,normalize")
    assert normalization(normal).normalized
    rows = np.loadtxt(shared_data / "circuits" / "libra" / "msweb" / "msweb.test",
                      delimiter=",", max_rows=20)
    assert_same_values(circuit, normal, rows, shift=report[-1].log_z)
