"""Sampling in the torch backend: distributions (chi-square, fixed seeds), evidence, marginals."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.backends.torch.sample import sample
from pcc.ir import (
    BINARY,
    COUNT,
    REAL,
    CircuitBuilder,
    DataError,
    InvalidCircuitError,
    categorical,
)
from tests.strategies import DISCRETE_DOMAINS, all_assignments, circuits, data_for
from tests.torch_helpers import kron_circuits


def chi_square_pvalue(draws, table, p):
    """p-value of the draws' counts over the rows of `table` against probabilities `p`
    (assignments expected fewer than 5 times are pooled into one cell)."""
    n = len(draws)
    index = {tuple(row): i for i, row in enumerate(table)}
    counts = np.bincount([index[tuple(row)] for row in draws], minlength=len(table))
    keep = p * n >= 5
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(p[keep], p[~keep].sum()) * n
    assert observed[expected == 0].sum() == 0          # never a draw of probability zero
    live = expected > 0
    if live.sum() < 2:
        return 1.0
    return stats.chisquare(observed[live], expected[live] * n / expected[live].sum()).pvalue


@settings(max_examples=10, deadline=None)
@given(st.one_of(circuits(domains=DISCRETE_DOMAINS, max_vars=3), kron_circuits(max_vars=3)
                 .filter(lambda c: all(d.discrete for d in c.domains))))
def test_samples_follow_the_distribution(circuit):
    table = all_assignments(circuit)
    p = np.exp(log_likelihood(circuit, table))
    draws = sample(compile(circuit, dtype=torch.float64), num_samples=4000, generator=0)
    assert chi_square_pvalue(draws.numpy(), table, p) > 1e-4


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_conditional_samples_keep_the_evidence_and_follow_the_conditional(data):
    circuit = data.draw(circuits(domains=DISCRETE_DOMAINS, max_vars=3))
    table = all_assignments(circuit)
    p = np.exp(log_likelihood(circuit, table))
    row = table[data.draw(st.sampled_from(np.flatnonzero(p > 0).tolist()))]
    observed = np.array(data.draw(st.lists(st.booleans(), min_size=circuit.num_vars,
                                           max_size=circuit.num_vars)))
    evidence = np.where(observed, row, np.nan)
    draws = sample(compile(circuit, dtype=torch.float32), evidence[None], num_samples=3000,
                   generator=1).numpy()
    assert np.all(draws[:, observed] == row[observed])
    fits = np.all(table[:, observed] == row[observed], axis=1)
    conditional = np.where(fits, p, 0.0) / p[fits].sum()
    assert chi_square_pvalue(draws, table, conditional) > 1e-4


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_marginals_of_samples_match_log_marginal(data):
    circuit = data.draw(circuits(max_vars=3))
    evidence = data.draw(data_for(circuit, max_rows=1))
    model = compile(circuit, dtype=torch.float64)
    if not np.isfinite(model(evidence).item()):
        with pytest.raises(DataError, match="probability zero"):
            sample(model, evidence, generator=2)
        return
    n = 3000
    draws = sample(model, evidence, num_samples=n, generator=2).numpy()
    assert not np.isnan(draws).any()
    observed = ~np.isnan(evidence[0])
    assert np.all(draws[:, observed] == evidence[0, observed])
    for v in np.flatnonzero(~observed):
        domain = circuit.domains[v]
        if not domain.discrete:
            continue   # real variables: checked by their means below
        values, counts = np.unique(draws[:, v], return_counts=True)
        rows = np.tile(evidence, (len(values), 1))
        rows[:, v] = values
        keep = observed.copy()
        keep[v] = True
        # p(x_v = value | evidence) = exp(log p(x_v, e) - log p(e)), by log_marginal
        cond = np.exp(model.log_marginal(rows, keep).detach().numpy() - model(evidence).item())
        freq = counts / n
        assert np.all(np.abs(freq - cond) <= 5 * np.sqrt(cond * (1 - cond) / n) + 0.01)


def test_real_binomial_and_poisson_leaves_sample_from_their_distributions():
    b = CircuitBuilder([REAL, REAL, categorical(6), COUNT, REAL])
    b.product([b.gaussian(0, 2.0, 0.5),
               b.histogram(1, breaks=[0.0, 1.0, 3.0], densities=[0.1, 0.45]),
               b.binomial(2, n=5, p=0.3), b.poisson(3, rate=2.5),
               b.histogram(4, breaks=[-1.0, 0.0, 0.5], densities=[0.5, 1.0])])
    draws = sample(compile(b.build()), num_samples=40000, generator=3).numpy()
    n = len(draws)
    assert draws[:, 0].mean() == pytest.approx(2.0, abs=4 * 0.5 / np.sqrt(n))
    assert draws[:, 0].std() == pytest.approx(0.5, rel=0.02)
    assert (draws[:, 1] < 1).mean() == pytest.approx(0.1, abs=0.005)
    assert draws[:, 1].min() >= 0 and draws[:, 1].max() < 3
    counts = np.bincount(draws[:, 2].astype(int), minlength=6)
    assert stats.chisquare(counts, stats.binom.pmf(np.arange(6), 5, 0.3) * n).pvalue > 1e-4
    assert draws[:, 3].mean() == pytest.approx(2.5, abs=0.05)
    assert draws[:, 3].var() == pytest.approx(2.5, rel=0.05)
    assert (draws[:, 4] < 0).mean() == pytest.approx(0.5, abs=0.01)
    assert stats.kstest(draws[draws[:, 4] >= 0, 4], stats.uniform(0, 0.5).cdf).pvalue > 1e-4


def test_a_discrete_histogram_draws_the_integers_of_its_bins():
    b = CircuitBuilder([COUNT])
    b.histogram(0, breaks=[0.0, 1.5, 3.0, 3.5], densities=[0.2, 0.4, 0.2])   # {0,1}, {2}, {3}
    draws = sample(compile(b.build()), num_samples=20000, generator=4).numpy()[:, 0]
    freq = np.bincount(draws.astype(int), minlength=4) / len(draws)
    assert np.allclose(freq, [0.2, 0.2, 0.4, 0.2], atol=0.015)


def test_seeds_make_samples_reproducible():
    b = CircuitBuilder([BINARY, REAL])
    b.sum([b.product([b.bernoulli(0, 0.3), b.gaussian(1, 0.0, 1.0)]),
           b.product([b.bernoulli(0, 0.8), b.gaussian(1, 3.0, 1.0)])], weights=[0.4, 0.6])
    model = compile(b.build())
    first = sample(model, num_samples=200, generator=7)
    assert torch.equal(first, sample(model, num_samples=200, generator=7))
    assert torch.equal(first, sample(model, num_samples=200,
                                     generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(first, sample(model, num_samples=200, generator=8))


def test_bad_input_gives_one_line_errors():
    b = CircuitBuilder([BINARY, categorical(3)])
    b.product([b.indicator(0, 1), b.categorical(1, [0.2, 0.3, 0.5])])
    model = compile(b.build())
    for n in (0, -3, 2.5):
        with pytest.raises(DataError, match="number of samples must be a positive integer"):
            sample(model, num_samples=n)
    with pytest.raises(DataError, match="needs evidence or a number of samples"):
        sample(model)
    with pytest.raises(DataError, match="1 columns but the circuit has 2 variables"):
        sample(model, [[0.0]])
    with pytest.raises(DataError, match=r"column 1 \(x1\): value 7.0 is outside"):
        sample(model, [[np.nan, 7.0]])
    with pytest.raises(DataError, match="evidence of row 1 has probability zero"):
        sample(model, [[1.0, np.nan], [0.0, np.nan]], generator=0)
    bad = CircuitBuilder([BINARY, BINARY])
    bad.product([bad.bernoulli(0, 0.3), bad.bernoulli(0, 0.6)])        # not decomposable
    with pytest.raises(InvalidCircuitError, match="smooth, decomposable.*product #2"):
        sample(compile(bad.build(), allow_invalid=True), num_samples=3)
