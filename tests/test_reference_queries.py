"""MPE and sampling in the reference interpreter, against brute-force enumeration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe, sample
from pcc.ir import BINARY, REAL, CircuitBuilder, DataError
from tests.strategies import (DISCRETE_DOMAINS, all_assignments, circuits, data_for,
                              deterministic_circuits)

SETTINGS = settings(max_examples=40, deadline=None)


def brute_force_best(circuit, row):
    """The highest log-probability among completions of `row` (NaN = free)."""
    table = all_assignments(circuit)
    fits = np.all(np.isnan(row) | (table == row), axis=1)
    return log_likelihood(circuit, table[fits]).max()


@SETTINGS
@given(st.data())
def test_mpe_is_exact_on_deterministic_circuits(data):
    circuit = data.draw(deterministic_circuits())
    rows = data.draw(data_for(circuit, max_rows=4))
    states, values = mpe(circuit, rows)
    for row, state, value in zip(rows, states, values):
        best = brute_force_best(circuit, row)
        assert not np.isnan(state).any()
        assert np.array_equal(state[~np.isnan(row)], row[~np.isnan(row)])
        if best == -np.inf:
            assert value == -np.inf
        else:
            assert log_likelihood(circuit, state[None])[0] == pytest.approx(best, rel=1e-9)
            assert value == pytest.approx(best, rel=1e-9)


@SETTINGS
@given(st.data())
def test_max_product_value_never_exceeds_the_state_probability(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    rows = data.draw(data_for(circuit, max_rows=3))
    states, values = mpe(circuit, rows)
    assert np.array_equal(np.isnan(rows) | (states == rows), np.ones_like(rows, dtype=bool))
    finite = values > -np.inf
    assert np.all(values[finite] <= log_likelihood(circuit, states)[finite] + 1e-9)


def empirical(samples, table):
    return np.array([np.all(samples == a, axis=1).mean() for a in table])


@settings(max_examples=8, deadline=None)
@given(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
def test_samples_follow_the_distribution(circuit):
    table = all_assignments(circuit)
    p = np.exp(log_likelihood(circuit, table))
    n = 4000
    counts = empirical(sample(circuit, np.full((n, circuit.num_vars), np.nan),
                              np.random.default_rng(0)), table) * n
    keep = p * n >= 5  # chi-square needs expected counts of at least ~5
    if keep.sum() < 2:
        return
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(p[keep] * n, p[~keep].sum() * n)
    nonzero = expected > 0
    assert stats.chisquare(observed[nonzero], expected[nonzero] * observed.sum()
                           / expected[nonzero].sum()).pvalue > 1e-4


def test_conditional_samples_keep_the_evidence_and_follow_the_conditional():
    b = CircuitBuilder([BINARY, BINARY])
    a = b.product([b.bernoulli(0, 0.9), b.bernoulli(1, 0.2)])
    c = b.product([b.bernoulli(0, 0.1), b.bernoulli(1, 0.7)])
    b.sum([a, c], weights=[0.5, 0.5])
    circuit = b.build()
    evidence = np.tile([1.0, np.nan], (20000, 1))
    draws = sample(circuit, evidence, np.random.default_rng(1))
    assert np.all(draws[:, 0] == 1)
    # p(x1=1 | x0=1) = (0.45*0.2 + 0.05*0.7) / 0.5
    assert draws[:, 1].mean() == pytest.approx((0.45 * 0.2 + 0.05 * 0.7) / 0.5, abs=0.015)


def test_real_variables_sample_and_take_their_modes():
    b = CircuitBuilder([REAL, REAL])
    b.product([b.gaussian(0, 2.0, 0.5),
               b.histogram(1, breaks=[0.0, 1.0, 3.0], densities=[0.1, 0.45])])
    circuit = b.build()
    states, _ = mpe(circuit, [[np.nan, np.nan]])
    assert states.tolist() == [[2.0, 2.0]]
    draws = sample(circuit, np.full((20000, 2), np.nan), np.random.default_rng(2))
    assert draws[:, 0].mean() == pytest.approx(2.0, abs=0.02)
    assert (draws[:, 1] < 1).mean() == pytest.approx(0.1, abs=0.01)
    assert draws[:, 1].min() >= 0 and draws[:, 1].max() < 3


def test_seeds_make_samples_reproducible():
    b = CircuitBuilder([BINARY])
    b.bernoulli(0, 0.3)
    circuit = b.build()
    first = sample(circuit, np.full((50, 1), np.nan), np.random.default_rng(7))
    again = sample(circuit, np.full((50, 1), np.nan), np.random.default_rng(7))
    assert np.array_equal(first, again)


def test_zero_probability_evidence_is_refused():
    b = CircuitBuilder([BINARY])
    b.indicator(0, 1)
    with pytest.raises(DataError, match="evidence of row 0 has probability zero"):
        sample(b.build(), [[0.0]], np.random.default_rng(0))
