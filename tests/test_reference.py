"""The reference interpreter: normalization, marginalization, families against scipy, bad data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pcc.backends.reference import evaluate, log_likelihood
from pcc.ir import BINARY, COUNT, REAL, CircuitBuilder, DataError, categorical
from tests.strategies import DISCRETE_DOMAINS, all_assignments, circuits, data_for

SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(circuits(domains=DISCRETE_DOMAINS, max_vars=4))
def test_a_valid_discrete_circuit_sums_to_one(circuit):
    total = np.exp(log_likelihood(circuit, all_assignments(circuit))).sum()
    assert total == pytest.approx(1.0, rel=1e-9)


@SETTINGS
@given(circuits())
def test_marginalizing_every_variable_gives_log_one(circuit):
    missing = np.full((2, circuit.num_vars), np.nan)
    assert np.allclose(log_likelihood(circuit, missing), 0.0, atol=1e-12)


@SETTINGS
@given(st.data())
def test_a_missing_value_equals_the_sum_over_its_values(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    row = data.draw(data_for(circuit, max_rows=1, missing=False))[0]
    var = data.draw(st.integers(0, circuit.num_vars - 1))
    completions = np.repeat(row[None, :], circuit.domains[var].size, axis=0)
    completions[:, var] = np.arange(circuit.domains[var].size)
    marginal = row.copy()
    marginal[var] = np.nan
    expected = np.logaddexp.reduce(log_likelihood(circuit, completions))
    assert log_likelihood(circuit, marginal[None, :])[0] == pytest.approx(expected, rel=1e-9)


@SETTINGS
@given(st.data())
def test_values_are_never_nan(data):
    circuit = data.draw(circuits())
    x = data.draw(data_for(circuit))
    assert not any(np.isnan(v).any() for v in evaluate(circuit, x))


def single(domain, family, **params):
    b = CircuitBuilder([domain])
    b.input(0, family, **params)
    return b.build()


@pytest.mark.parametrize("domain, family, params, values, expected", [
    (BINARY, "bernoulli", {"p": [0.3, 1.0]}, [0, 1],
     lambda x: np.stack([stats.bernoulli.logpmf(x, 0.3), stats.bernoulli.logpmf(x, 1.0)], 1)),
    (COUNT, "binomial", {"n": [4, 0], "p": [0.3, 0.6]}, [0, 2, 4, 5],
     lambda x: np.stack([stats.binom.logpmf(x, 4, 0.3), stats.binom.logpmf(x, 0, 0.6)], 1)),
    (COUNT, "binomial", {"n": [3], "p": [1.0]}, [0, 3], lambda x: stats.binom.logpmf(x, 3, 1.0)[:, None]),
    (COUNT, "poisson", {"rate": [0.5, 3.0]}, [0, 1, 7],
     lambda x: np.stack([stats.poisson.logpmf(x, 0.5), stats.poisson.logpmf(x, 3.0)], 1)),
    (COUNT, "poisson", {"rate": [0.0]}, [0, 2], lambda x: stats.poisson.logpmf(x, 0.0)[:, None]),
    (REAL, "gaussian", {"mean": [0.0, 2.0], "std": [1.0, 0.5]}, [-1.0, 0.0, 2.5],
     lambda x: np.stack([stats.norm.logpdf(x, 0, 1), stats.norm.logpdf(x, 2, 0.5)], 1)),
    (categorical(3), "categorical", {"probs": [[0.2, 0.0, 0.8]]}, [0, 1, 2],
     lambda x: np.log(np.array([0.2, 0.0, 0.8]))[x.astype(int)][:, None]),
    (COUNT, "categorical", {"probs": [[0.5, 0.5]]}, [1, 2],
     lambda x: np.array([[np.log(0.5)], [-np.inf]])),
    (categorical(3), "indicator", {"value": [1, 2]}, [0, 1, 2],
     lambda x: np.log(np.stack([x == 1, x == 2], 1).astype(float))),
    (REAL, "histogram", {"breaks": [[0.0, 0.5, 2.0]], "densities": [[1.0, 1 / 3]]},
     [-0.1, 0.0, 0.5, 1.9, 2.0],
     lambda x: np.log(np.array([[0.0], [1.0], [1 / 3], [1 / 3], [0.0]]))),
])
def test_families_agree_with_scipy(domain, family, params, values, expected):
    x = np.array(values, dtype=float)
    with np.errstate(divide="ignore"):
        want = expected(x)
    got = evaluate(single(domain, family, **params), x[:, None])[0]
    assert np.allclose(got, want, rtol=1e-12, atol=0) or np.array_equal(got, want)


def test_a_zero_probability_row_is_minus_infinity_not_nan():
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.indicator(0, 1), b.bernoulli(1, 0.5)])], weights=[1.0])
    ll = log_likelihood(b.build(), [[0, 1], [1, 1]])
    assert ll[0] == -np.inf and ll[1] == pytest.approx(np.log(0.5))


def test_a_deep_chain_does_not_underflow():
    b = CircuitBuilder([BINARY] * 2)
    node = b.product([b.bernoulli(0, 0.01), b.bernoulli(1, 0.01)])
    for _ in range(1000):
        node = b.sum([node, b.product([b.bernoulli(0, 0.01), b.bernoulli(1, 0.01)])],
                     weights=[0.5, 0.5])
    assert log_likelihood(b.build(), [[1, 1]])[0] == pytest.approx(2 * np.log(0.01))


@pytest.mark.parametrize("data, message", [
    ([[0, 1]], "data has 2 columns but the circuit has 3 variables"),
    ([[0, 2, 0.5]], r"row 0, column 1 \(x1\): value 2.0 is outside the domain categorical\(2\); "
                    r"expected an integer in 0..1"),
    ([[0, 0, 0.5], [3, 1, 0.5]], r"row 1, column 0 \(x0\): value 3.0 is outside the domain binary"),
    ([[0, 0, np.inf]], r"row 0, column 2 \(x2\): value inf is outside the domain real; "
                       "expected a finite real number"),
    ([[0.5, 0, 0]], r"row 0, column 0 \(x0\): value 0.5 is outside the domain binary"),
    ([["a", 0, 0]], "data must be a numeric matrix"),
    (np.zeros((2, 3, 1)), r"data must be a 2-d \(rows, variables\) matrix, got shape \(2, 3, 1\)"),
])
def test_bad_data_names_row_column_and_domain(data, message):
    b = CircuitBuilder([BINARY, categorical(2), REAL])
    b.product([b.bernoulli(0, 0.5), b.categorical(1, [0.5, 0.5]), b.gaussian(2, 0.0, 1.0)])
    with pytest.raises(DataError, match=message):
        log_likelihood(b.build(), data)
