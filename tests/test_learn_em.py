"""EM and Adam on compiled circuits: monotone full-batch EM (float64), marginalized variables,
online EM, early stopping, checkpoints, and the trained model as an IR circuit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.torch import compile
from pcc.ir import Input
from pcc.learn import EM, TrainConfig, fit, mean_log_likelihood
from pcc.regions import build_circuit, hclt, linear_chain, random_binary_trees
from tests.torch_helpers import DEVICES


def _data(rows: int = 200, seed: int = 0) -> np.ndarray:
    """Six binary variables with strong dependencies: a structure EM can find."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, rows)
    noisy = lambda p: np.where(rng.random(rows) < p, a, 1 - a)  # noqa: E731
    return np.stack([a, noisy(0.9), rng.integers(0, 2, rows), noisy(0.8),
                     rng.integers(0, 2, rows), 1 - a], 1).astype(np.float64)


def _full_batch_em(model, data: np.ndarray, steps: int, prior: float = 1e-6) -> list[float]:
    em = EM(model, prior=prior)
    lls = []
    for _ in range(steps):
        lls.append(em.accumulate(torch.as_tensor(data)) / len(data))
        em.update()
    lls.append(mean_log_likelihood(model, data))
    return lls


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sum_product", ["tucker", "cp"])
def test_full_batch_em_increases_log_likelihood_monotonically(sum_product, device):
    data = _data()
    circuit = build_circuit(random_binary_trees(6, 2, 2, seed=0), 3, sum_product=sum_product,
                            seed=1)
    model = compile(circuit, dtype=torch.float64, device=device)
    lls = _full_batch_em(model, data, 8)
    assert np.all(np.diff(lls) >= -1e-10), lls
    assert lls[-1] > lls[0] + 0.5
    # the trained module and its IR circuit agree (the reference interpreter is the spec)
    trained = model.to_circuit()
    assert log_likelihood(trained, data).mean() == pytest.approx(lls[-1], abs=1e-9)


def test_em_gaussian_and_categorical_leaves_monotone():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 4))
    x[:, 1] += 2 * x[:, 0]
    model = compile(build_circuit(linear_chain(4), 3, leaf="gaussian", sum_product="cp"),
                    dtype=torch.float64)
    lls = _full_batch_em(model, x, 6)
    assert np.all(np.diff(lls) >= -1e-10) and lls[-1] > lls[0] + 0.5
    cat = rng.integers(0, 3, (150, 3)).astype(np.float64)
    cat[:, 1] = (cat[:, 0] + (rng.random(150) < 0.1)) % 3
    model = compile(build_circuit(random_binary_trees(3, 1, 2), 2, leaf="categorical",
                                  categories=3), dtype=torch.float64)
    lls = _full_batch_em(model, cat, 6)
    assert np.all(np.diff(lls) >= -1e-10) and lls[-1] > lls[0] + 0.3


def test_em_with_missing_values_keeps_marginalized_leaves_and_is_monotone():
    data = _data()
    rng = np.random.default_rng(2)
    data[:, 2] = np.nan                       # x2 is never observed
    data[rng.random(data.shape) < 0.2] = np.nan
    circuit = build_circuit(random_binary_trees(6, 2, 2, seed=0), 3, seed=1)
    model = compile(circuit, dtype=torch.float64)
    untrained = model.to_circuit()  # the parameters as stored (log-space rounding included)
    lls = _full_batch_em(model, data, 6, prior=1e-2)
    assert np.all(np.diff(lls) >= -1e-10), lls
    trained = model.to_circuit()
    for before, after in zip(untrained.groups, trained.groups):
        if isinstance(before, Input) and before.var == 2:
            assert np.array_equal(before.params["p"], after.params["p"])
        elif isinstance(before, Input) and before.var == 0:
            assert not np.array_equal(before.params["p"], after.params["p"])


def test_online_em_and_adam_with_early_stopping_and_checkpoints(tmp_path):
    data = _data(300)
    train, valid = data[:240], data[240:]
    circuit = build_circuit(hclt(train), 4, sum_product="cp", seed=0)
    start = mean_log_likelihood(compile(circuit, dtype=torch.float64), valid)
    for method in ("em", "adam"):
        model = compile(circuit, dtype=torch.float64)
        config = TrainConfig(method=method, epochs=3, batch_size=60, step_size=0.8, lr=0.2,
                             patience=2, progress=False, checkpoint=str(tmp_path / method))
        history = fit(model, train, valid, config)
        assert len(history.train) == len(history.valid) <= 3
        best = max(history.valid)
        assert best > start + 0.1, (method, start, history.valid)
        # the best epoch's parameters are the ones left in the model
        assert mean_log_likelihood(model, valid) == pytest.approx(best, abs=1e-9)
        assert (tmp_path / method).exists()
    # resuming a finished run trains no further epochs and restores the same best model
    again = compile(circuit, dtype=torch.float64)
    resumed = fit(again, train, valid, config)
    assert resumed.valid == history.valid
    assert mean_log_likelihood(again, valid) == pytest.approx(max(history.valid), abs=1e-9)


def test_early_stopping_stops():
    data = _data(200)
    model = compile(build_circuit(random_binary_trees(6, 2, 2), 2, seed=0), dtype=torch.float64)
    # validation data the model cannot fit: it gets worse while training fits the train rows
    valid = 1 - data[:50]
    valid[:, 2] = data[:50, 2]
    history = fit(model, data, valid, TrainConfig(epochs=40, batch_size=None, patience=2,
                                                  progress=False))
    assert history.stopped_early and len(history.train) < 40
    assert history.best_epoch == int(np.argmax(history.valid))


def test_seed_makes_training_deterministic():
    data = _data(200)
    circuit = build_circuit(random_binary_trees(6, 2, 2), 3, seed=0)
    results = []
    for _ in range(2):
        model = compile(circuit, dtype=torch.float64)
        fit(model, data, None, TrainConfig(epochs=2, batch_size=100, seed=5, progress=False))
        results.append(mean_log_likelihood(model, data))
    assert results[0] == results[1]


def test_time_limit_and_bad_config():
    data = _data(100)
    model = compile(build_circuit(random_binary_trees(6, 1, 1), 2, seed=0), dtype=torch.float64)
    history = fit(model, data, None, TrainConfig(epochs=5, batch_size=50, time_limit=1e-9,
                                                 step_decay=0.5, progress=False))
    assert len(history.train) == 1
    with pytest.raises(ValueError, match="step_size"):
        TrainConfig(step_size=0.0)
    with pytest.raises(ValueError, match="method"):
        TrainConfig(method="sgd")
    with pytest.raises(TypeError, match="CompiledCircuit"):
        EM(torch.nn.Linear(2, 1))
    bad = {"epochs": (0, "epochs must be >= 1, got 0"), "prior": (-1.0, "prior must be >= 0"),
           "lr": (0.0, "lr must be > 0"), "patience": (-2, "patience must be >= 0 or None"),
           "eval_batch_size": (0, "eval_batch_size must be >= 1"),
           "tolerance": (-1e-9, "tolerance must be >= 0 or None"),
           "time_limit": (-5.0, "time_limit must be >= 0 or None")}
    for name, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            TrainConfig(**{name: value})


def test_the_e_step_writes_the_leaves_into_the_evaluation_buffer():
    """No leaves-sized copy: the tapped leaves are rows of the buffer the pass evaluates in."""
    from pcc.layering import NEG_INF_COLUMN

    model = compile(build_circuit(random_binary_trees(8, 2, 2, seed=0), units=3,
                                  leaf="bernoulli", seed=0), dtype=torch.float64)
    x = (np.random.default_rng(0).random((5, 8)) < 0.5).astype(float)
    xs, missing = model.domains.prepare(x, None, model.device)
    up = model.run(xs, missing, tap_leaves=True, keep_buffer=True)
    assert up.leaves is not None and up.buffer is not None and up.leaves.requires_grad
    assert up.leaves.data_ptr() == up.buffer[NEG_INF_COLUMN + 1].data_ptr()
    assert torch.allclose(up.root[:, 0], model(x))
