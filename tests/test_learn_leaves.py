"""Expected sufficient statistics and M-steps of input families (no backend needed)."""

from __future__ import annotations

import math

import pytest
import torch

from pcc.learn.leaves import (interpolate, keep_unobserved, m_step, observed_mass,
                              sufficient_statistics)

nan = math.nan


def test_bernoulli_weighted_mean_and_missing_expectation():
    params = {"p": torch.tensor([0.5, 0.2], dtype=torch.float64)}
    x = torch.tensor([[1.0, 1.0], [0.0, nan], [1.0, nan]], dtype=torch.float64)
    resp = torch.tensor([[1.0, 0.5], [1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    stats, total = sufficient_statistics("bernoulli", params, x, resp)
    # unit 1: the missing rows contribute r * p = 3 * 0.2
    assert stats[:, 0].tolist() == pytest.approx([1.0, 0.5 + 0.6])
    assert total.tolist() == [2.0, 3.5]
    new = m_step("bernoulli", params, stats, total, prior=0.0)
    assert new["p"].tolist() == pytest.approx([0.5, 1.1 / 3.5])
    assert observed_mass(x, resp).tolist() == [2.0, 0.5]


def test_fully_missing_unit_keeps_parameters_exactly():
    params = {"probs": torch.tensor([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], dtype=torch.float64)}
    x = torch.tensor([[2.0, nan], [0.0, nan]], dtype=torch.float64)
    resp = torch.ones(2, 2, dtype=torch.float64)
    stats, total = sufficient_statistics("categorical", params, x, resp)
    new = m_step("categorical", params, stats, total, prior=0.5)
    mixed = interpolate("categorical", params, new, 0.3)
    kept = keep_unobserved(params, mixed, observed_mass(x, resp))
    assert torch.equal(kept["probs"][1], params["probs"][1])
    expected = (0.7 * params["probs"][0] + 0.3 * (torch.tensor([1.0, 0, 1.0]) + 0.5) / 3.5)
    assert kept["probs"][0].tolist() == pytest.approx(expected.tolist())


def test_gaussian_moments_and_floor():
    params = {"mean": torch.tensor([0.0, 5.0], dtype=torch.float64),
              "std": torch.tensor([1.0, 2.0], dtype=torch.float64)}
    x = torch.tensor([[1.0, 3.0], [3.0, 3.0], [nan, 3.0]], dtype=torch.float64)
    resp = torch.tensor([[1.0, 1.0], [1.0, 1.0], [2.0, 1.0]], dtype=torch.float64)
    stats, total = sufficient_statistics("gaussian", params, x, resp)
    new = m_step("gaussian", params, stats, total, min_std=0.01)
    # unit 0: values 1, 3 and twice the expectation (mean 0, E[x^2] = 1)
    mean = (1 + 3 + 0) / 4
    var = (1 + 9 + 2 * 1) / 4 - mean**2
    assert new["mean"][0].item() == pytest.approx(mean)
    assert new["std"][0].item() == pytest.approx(math.sqrt(var))
    assert new["std"][1].item() == pytest.approx(0.01)  # all values equal: floored


def test_binomial_and_unknown_family():
    params = {"n": torch.tensor([4, 4]), "p": torch.tensor([0.5, 0.5], dtype=torch.float64)}
    x = torch.tensor([[4.0, 0.0], [2.0, 1.0]], dtype=torch.float64)
    stats, total = sufficient_statistics("binomial", params, x, torch.ones(2, 2))
    new = m_step("binomial", params, stats, total, prior=0.0)
    assert new["p"].tolist() == pytest.approx([6 / 8, 1 / 8]) and torch.equal(new["n"], params["n"])
    with pytest.raises(ValueError, match="no M-step for histogram"):
        sufficient_statistics("histogram", {}, x, torch.ones(2, 2))


def test_categorical_statistics_equal_the_one_hot_definition():
    """The scatter-add statistics equal sum_n r_nl * E[onehot(x_nl)] written out in full."""
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(3, 4, generator=generator, dtype=torch.float64)
    probs /= probs.sum(1, keepdim=True)
    x = torch.randint(0, 4, (7, 3), generator=generator).to(torch.float64)
    x[torch.rand(7, 3, generator=generator) < 0.3] = nan
    resp = torch.rand(7, 3, generator=generator, dtype=torch.float64)
    stats, _ = sufficient_statistics("categorical", {"probs": probs}, x, resp)
    expected = torch.zeros(3, 4, dtype=torch.float64)
    for n in range(7):
        for leaf in range(3):
            value = x[n, leaf]
            share = probs[leaf] if torch.isnan(value) else \
                torch.nn.functional.one_hot(value.long(), 4).to(torch.float64)
            expected[leaf] += resp[n, leaf] * share
    assert torch.allclose(stats, expected, rtol=1e-12, atol=0)
