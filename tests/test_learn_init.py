"""Data-based initialization of binomial inputs (pcc.learn.init) and its use in `fit`.

Regression for issue 5: with random p and n = 255, one unit per pixel took all the posterior
mass from the first batch on and the other units never moved from their initial values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.backends.torch import compile
from pcc.ir import categorical
from pcc.learn import TrainConfig, fit, mean_log_likelihood
from pcc.learn.access import em_access
from pcc.learn.init import EDGE, init_inputs_from_data
from pcc.regions import build_circuit, poon_domingos

SHAPE = (4, 4)


def _pixels(rows: int = 300, seed: int = 0) -> np.ndarray:
    """MNIST-like 4x4 images: a dark background and one of three bright strokes, 0..255."""
    rng = np.random.default_rng(seed)
    strokes = np.zeros((3, *SHAPE))
    strokes[0, :, 1] = strokes[1, 2, :] = 1.0
    strokes[2] = np.eye(4)
    mean = 0.02 + 0.93 * strokes[rng.integers(0, 3, rows)].reshape(rows, -1)
    return rng.binomial(255, mean).astype(np.float64)


def _model(seed: int = 0) -> torch.nn.Module:
    graph = poon_domingos(SHAPE, [2])
    circuit = build_circuit(graph, units=4, leaf="binomial", seed=seed,
                            domains=[categorical(256)] * graph.num_vars)
    return compile(circuit, dtype=torch.float32)


def _leaf_p(model: torch.nn.Module) -> torch.Tensor:
    access = em_access(model)
    return torch.cat([access.input_params(i)["p"] for i in range(len(access.input_families))])


def _factorized_ll(data: np.ndarray) -> float:
    """Mean log-likelihood of the best fully factorized binomial model (per-pixel MLE)."""
    from scipy.stats import binom

    p = np.clip(data.mean(0) / 255, 1e-6, 1 - 1e-6)
    return float(binom.logpmf(data, 255, p).sum(1).mean())


CONFIG = TrainConfig(epochs=4, batch_size=50, step_size=0.3, patience=None, progress=False)


def test_init_sets_p_near_the_pixel_mean() -> None:
    data = _pixels()
    data[:, 0] = np.nan  # a variable missing everywhere keeps its parameters
    model = _model()
    before = _leaf_p(model)
    var = torch.cat(em_access(model).input_vars).numpy()
    count = init_inputs_from_data(model, data, noise=0.0)
    after = _leaf_p(model)
    assert count == int((var != 0).sum())
    assert torch.equal(after[var == 0], before[var == 0])
    want = np.clip(np.nanmean(data[:, 1:], 0) / 255, EDGE, 1 - EDGE)[var[var != 0] - 1]
    np.testing.assert_allclose(after[var != 0].numpy(), want, rtol=1e-4)
    with pytest.raises(ValueError, match="gaussian"):
        init_inputs_from_data(model, data, families=("gaussian",))


def test_fit_initializes_binomial_inputs_from_data() -> None:
    data = _pixels()
    model = _model()
    start = _leaf_p(model)
    fit(model, data, config=CONFIG)  # init="auto": binomial inputs start from the data
    assert bool(((_leaf_p(model) - start).abs() > 1e-4).all())
    ll = mean_log_likelihood(model, data)
    # three strokes and a mixture per patch: far better than one binomial per pixel
    # the generating model scores about -38 (16 binomial entropies of 2.2-2.6 nats + log 3);
    # one binomial per pixel scores about -1170, and random initial p (issue 5) about -400
    assert _factorized_ll(data) < -1000.0
    assert ll > -42.0, ll
