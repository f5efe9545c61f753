"""MPE in the torch backend against the reference interpreter (the spec) and brute force."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe as reference_mpe
from pcc.backends.torch import compile
from pcc.backends.torch.mpe import mpe
from pcc.backends.torch.topdown import input_blocks
from pcc.families import family
from pcc.ir import (
    BINARY,
    COUNT,
    REAL,
    CircuitBuilder,
    DataError,
    InvalidCircuitError,
    categorical,
)
from tests.strategies import (
    DISCRETE_DOMAINS,
    all_assignments,
    circuits,
    data_for,
    deterministic_circuits,
)
from tests.torch_helpers import ENGINE_DEVICES, kron_circuits

SETTINGS = settings(max_examples=25, deadline=None)


def assert_same_mpe(circuit, rows, result, rtol):
    """Observed entries kept; the max-product values equal the reference's; the states equal
    the reference's in probability, or (a tie broken the other way) reach the same value."""
    states = result.states.cpu().numpy()
    values = result.values.double().numpy()
    want_states, want_values = reference_mpe(circuit, rows)
    observed = ~np.isnan(rows)
    assert np.array_equal(states[observed], rows[observed])
    assert not np.isnan(states).any()
    assert np.array_equal(np.isneginf(values), np.isneginf(want_values))
    finite = np.isfinite(want_values)
    assert np.allclose(values[finite], want_values[finite], rtol=rtol, atol=rtol)
    got_ll, want_ll = log_likelihood(circuit, states), log_likelihood(circuit, want_states)
    for row in np.flatnonzero(finite):
        if not np.isclose(got_ll[row], want_ll[row], rtol=rtol, atol=rtol):
            _, tie = reference_mpe(circuit, states[row][None])   # the best tree at our state
            assert tie[0] == pytest.approx(want_values[row], rel=rtol, abs=rtol)


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@SETTINGS
@given(st.data())
def test_mpe_equals_the_reference(device, engine, data):
    circuit = data.draw(circuits())
    rows = data.draw(data_for(circuit, max_rows=5))
    model = compile(circuit, dtype=torch.float64, device=device, engine=engine)
    assert_same_mpe(circuit, rows, mpe(model, rows), 1e-9)


@pytest.mark.parametrize("device, engine", ENGINE_DEVICES)
@settings(max_examples=15, deadline=None)
@given(st.data())
def test_mpe_through_fused_kronecker_einsums_equals_the_reference(device, engine, data):
    circuit = data.draw(kron_circuits())
    rows = data.draw(data_for(circuit, max_rows=5))
    model = compile(circuit, dtype=torch.float64, device=device, engine=engine)
    assert any(b.op == "kron" for b in model.plan.blocks)
    assert_same_mpe(circuit, rows, mpe(model, rows), 1e-9)


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_float32_mpe_is_close_to_the_reference(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    rows = data.draw(data_for(circuit, max_rows=4))
    result = mpe(compile(circuit, dtype=torch.float32), rows)
    _, want = reference_mpe(circuit, rows)
    finite = np.isfinite(want)
    assert np.allclose(result.values.double().numpy()[finite], want[finite], rtol=1e-4, atol=1e-4)
    assert np.array_equal(np.isneginf(result.values.numpy()), ~finite)


@SETTINGS
@given(st.data())
def test_mpe_is_exact_on_deterministic_circuits(data):
    circuit = data.draw(deterministic_circuits())
    rows = data.draw(data_for(circuit, max_rows=4))
    result = mpe(compile(circuit, dtype=torch.float64), rows)
    assert result.exact
    table = all_assignments(circuit)
    table_ll = log_likelihood(circuit, table)
    got = log_likelihood(circuit, result.states.numpy())
    for row, ll, value in zip(rows, got, result.values.numpy()):
        fits = np.all(np.isnan(row) | (table == row), axis=1)
        best = table_ll[fits].max()                     # brute force over every completion
        if best == -np.inf:
            assert value == -np.inf
        else:
            assert ll == pytest.approx(best, rel=1e-9)
            assert value == pytest.approx(best, rel=1e-9)


@SETTINGS
@given(st.data())
def test_mpe_states_are_as_probable_as_the_evidence_allows(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    rows = data.draw(data_for(circuit, max_rows=4))
    result = mpe(compile(circuit, dtype=torch.float64), rows)
    state_ll = log_likelihood(circuit, result.states.numpy())
    evidence_ll = log_likelihood(circuit, rows)
    values = result.values.numpy()
    possible = evidence_ll > -np.inf
    # a state of an evidence with p > 0 has p > 0, at least the value of its tree, at most p(e)
    assert np.all(state_ll[possible] > -np.inf)
    assert np.all(values[possible] <= state_ll[possible] + 1e-9)
    assert np.all(state_ll[possible] <= evidence_ll[possible] + 1e-9)
    assert np.all(values[~possible] == -np.inf)


def test_modes_match_the_reference_ties_included():
    b = CircuitBuilder([BINARY, categorical(3), categorical(4), COUNT, REAL, REAL, categorical(4)])
    b.product([
        b.bernoulli(0, p=[0.5, 0.3, 0.7, 0.0]),
        b.categorical(1, probs=[[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0, 0, 1]]),
        b.binomial(2, n=[3, 3, 2, 0], p=[0.5, 0.25, 0.9, 0.5]),
        b.poisson(3, rate=[2.0, 0.5, 3.7]),
        b.gaussian(4, mean=[-1.5, 2.0], std=[1.0, 0.1]),
        b.histogram(5, breaks=[[0.0, 1.0, 3.0], [0.0, 2.0, 3.0]], densities=[[0.1, 0.45], [0.25, 0.5]]),
        b.histogram(6, breaks=[[0.0, 1.5, 2.5, 4.0], [0.5, 1.0, 2.0, 4.0]],
                    densities=[[0.2, 0.4, 0.4], [0.4, 0.4, 0.1]]),
    ], mode="kronecker")
    circuit = b.build()
    for dtype in (torch.float64, torch.float32):
        model = compile(circuit, dtype=dtype)
        for leaf in input_blocks(model):
            got = leaf.params.modes.numpy()
            want = np.concatenate([family(g.family).mode(dict(g.params),
                                                         circuit.domains[g.var].discrete)
                                   for g in (circuit[i] for i in leaf.block.groups)])
            assert got.tolist() == want.tolist(), leaf.block.family


def test_unobserved_entries_of_a_real_circuit_take_their_modes():
    b = CircuitBuilder([REAL, REAL])
    b.product([b.gaussian(0, 2.0, 0.5), b.histogram(1, breaks=[0.0, 1.0, 3.0], densities=[0.1, 0.45])])
    result = mpe(compile(b.build()), [[np.nan, np.nan], [0.5, np.nan]])
    assert result.states.tolist() == [[2.0, 2.0], [0.5, 2.0]]


def bad_circuit():
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.bernoulli(0, 0.3), b.bernoulli(1, 0.6)], weights=[0.5, 0.5])  # not smooth
    return b.build()


def test_bad_input_gives_one_line_errors():
    b = CircuitBuilder([BINARY, categorical(3)])
    b.product([b.bernoulli(0, 0.3), b.categorical(1, [0.2, 0.3, 0.5])])
    model = compile(b.build())
    with pytest.raises(DataError, match="3 columns but the circuit has 2 variables"):
        mpe(model, [[0, 1, 1]])
    with pytest.raises(DataError, match=r"row 1, column 1 \(x1\): value 3.0 is outside"):
        mpe(model, [[0, 1], [1, 3]])
    with pytest.raises(InvalidCircuitError, match="need a smooth, decomposable circuit.*sum #2") as error:
        mpe(compile(bad_circuit(), allow_invalid=True), [[np.nan, np.nan]])
    assert "\n" not in str(error.value)


def test_no_rows_and_missing_variables_outside_the_root_scope():
    b = CircuitBuilder([BINARY, BINARY])
    b.bernoulli(0, 0.8)                      # x1 is declared but unused
    result = mpe(compile(b.build()), np.full((2, 2), np.nan))
    assert result.states[:, 0].tolist() == [1.0, 1.0]
    assert torch.isnan(result.states[:, 1]).all()
    assert mpe(compile(b.build()), np.zeros((0, 2))).states.shape == (0, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_cpu_results():
    from pcc.backends.torch.sample import sample

    b = CircuitBuilder([BINARY, REAL, categorical(3)])
    parts = [b.product([b.bernoulli(0, p), b.gaussian(1, m, 1.0), b.categorical(2, q)])
             for p, m, q in ((0.2, -1.0, [0.5, 0.3, 0.2]), (0.9, 2.0, [0.1, 0.1, 0.8]))]
    b.sum(parts, weights=[0.3, 0.7])
    circuit = b.build()
    rows = np.array([[np.nan, 0.5, np.nan], [1, np.nan, np.nan], [np.nan] * 3])
    cpu = mpe(compile(circuit, dtype=torch.float64), rows)
    gpu = mpe(compile(circuit, dtype=torch.float64, device="cuda"), rows)
    assert torch.equal(cpu.states, gpu.states.cpu())
    assert torch.allclose(cpu.values, gpu.values.cpu())
    draws = sample(compile(circuit, device="cuda"), rows, num_samples=2000, generator=0)
    assert draws.device.type == "cuda" and not torch.isnan(draws).any()
    assert torch.all(draws[2000:4000, 0] == 1)
