"""The closed-form MLE of deterministic circuits (`pcc.learn.mle`, issue 21 item 3): plain counts
with a pseudo-count, whatever the start; one full-batch EM step from any start is the same
estimate; full-batch EM and the MLE stream the data in chunks (the result does not depend on
the chunk size)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.backends.torch import compile
from pcc.io import load_circuit
from pcc.ir import Circuit, CircuitBuilder
from pcc.ir.errors import DataError
from pcc.learn import NotDeterministicError, TrainConfig, fit, mean_log_likelihood, mle
from pcc.learn.access import em_access
from tests.test_learn_from_file import PSDD


def _psdd(tmp_path) -> Circuit:  # type: ignore[no-untyped-def]
    (tmp_path / "x.psdd").write_text(PSDD)
    return load_circuit(tmp_path / "x.psdd")


def _rows(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((count, 3)) < [0.3, 0.6, 0.8]).astype(float)


def _randomize(model: torch.nn.Module, seed: int) -> None:
    """Random positive sum weights and random leaf parameters: 'any start'."""
    gen = torch.Generator().manual_seed(seed)
    access = em_access(model)
    for table, live in zip(access.tables, access.weight_live):
        w = torch.where(live, torch.rand(live.shape, generator=gen, dtype=torch.float64) + 0.05,
                        0.0)
        table.assign((w / w.sum(-1, keepdim=True)).log(), live)
    for i, family in enumerate(access.input_families):
        if family == "bernoulli":
            params = access.input_params(i)
            p = torch.rand(params["p"].shape, generator=gen, dtype=torch.float64) * 0.9 + 0.05
            access.set_input_params(i, {"p": p}, units=torch.ones_like(p, dtype=torch.bool))


def _weights(model: torch.nn.Module) -> list[np.ndarray]:
    return [t.values() for t in em_access(model).tables]


@pytest.mark.parametrize("prior", [1.0, 0.5, 1e-3])
def test_mle_is_the_counts_with_a_pseudo_count(tmp_path, prior):
    """The PSDD is 0.8 [x1] D5 + 0.2 [~x1] D5, D5 = 0.5 [x2] T + 0.5 [~x2] T, T a Bernoulli
    over x3: every row reaches every node, so each estimate is one column's frequency."""
    circuit = _psdd(tmp_path)
    data = _rows(500)
    model = compile(circuit, dtype=torch.float64)
    _randomize(model, seed=3)
    mle(model, data, prior=prior)
    n = len(data)
    ones = data.sum(0)
    expect = [(ones[v] + prior) / (n + 2 * prior) for v in range(3)]
    trained = model.to_circuit()
    sums = [g for g in trained.groups if g.kind == "sum"]
    top = [g for g in trained.groups if g.kind == "input" and g.family == "bernoulli"][0]
    assert top.params["p"][0] == pytest.approx(expect[2], abs=1e-12)
    by_var = {trained.scope(g.id)[0]: g for g in sums}  # x2's sum has scope {x2, x3}
    # element order of the file: x1 then ~x1; x2 then ~x2
    np.testing.assert_allclose(by_var[0].weights[0], [expect[0], 1 - expect[0]], atol=1e-12)
    np.testing.assert_allclose(by_var[1].weights[0], [expect[1], 1 - expect[1]], atol=1e-12)


def test_one_full_batch_em_step_from_any_start_is_the_mle(tmp_path):
    circuit = _psdd(tmp_path)
    data = _rows(400, seed=1)
    reference = compile(circuit, dtype=torch.float64)
    start_ll = mle(reference, data, prior=1.0)
    assert start_ll == pytest.approx(mean_log_likelihood(compile(circuit, dtype=torch.float64),
                                                         data), abs=1e-12)
    for seed in (0, 1, 2):
        model = compile(circuit, dtype=torch.float64)
        _randomize(model, seed)
        fit(model, data, None, TrainConfig(epochs=1, batch_size=None, prior=1.0, init="model",
                                           keep_start=False, progress=False))
        for a, b in zip(_weights(model), _weights(reference)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(model(torch.as_tensor(data)).detach().numpy(),
                                   reference(torch.as_tensor(data)).detach().numpy(),
                                   rtol=0, atol=1e-9)


def test_mle_and_full_batch_em_stream_the_data_in_chunks(tmp_path):
    """Memory bounded at any data size: the statistics add up chunk by chunk, so the chunk
    size does not change the result."""
    circuit = _psdd(tmp_path)
    data = _rows(203, seed=2)
    whole, chunked = (compile(circuit, dtype=torch.float64) for _ in range(2))
    mle(whole, data, batch_size=1000)
    mle(chunked, data, batch_size=7)
    for a, b in zip(_weights(whole), _weights(chunked)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    runs = []
    for chunk in (1000, 7):
        model = compile(circuit, dtype=torch.float64)
        _randomize(model, seed=5)
        fit(model, data, None, TrainConfig(epochs=2, batch_size=None, init="model",
                                           eval_batch_size=chunk, progress=False))
        runs.append(_weights(model))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_mle_on_a_shipped_psdd_equals_one_em_step_from_a_random_start(shared_data):
    path = shared_data / "circuits" / "psdd" / "nltcs.psdd"
    table = shared_data / "twenty" / "nltcs" / "nltcs.train.data.gz"
    if not (path.exists() and table.exists()):
        pytest.skip("no nltcs.psdd or its data")
    from pcc.data import read_data

    circuit = load_circuit(path)
    data = read_data(table).values[:3000]
    estimate = compile(circuit, dtype=torch.float64)
    mle(estimate, data, prior=1.0)
    model = compile(circuit, dtype=torch.float64)
    _randomize(model, seed=0)
    fit(model, data, None, TrainConfig(epochs=1, batch_size=None, prior=1.0, init="model",
                                       keep_start=False, progress=False))
    for a, b in zip(_weights(model), _weights(estimate)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model(torch.as_tensor(data)).detach().numpy(),
                               estimate(torch.as_tensor(data)).detach().numpy(),
                               rtol=0, atol=1e-9)


def test_mle_refuses_missing_values_and_circuits_not_proved_deterministic(tmp_path):
    model = compile(_psdd(tmp_path), dtype=torch.float64)
    data = _rows(20)
    data[4, 1] = np.nan
    with pytest.raises(DataError, match=r"needs complete data: row 4, column 1 is missing "
                                        r"\(1 missing values\); train with EM instead"):
        mle(model, data)
    # x0 = 0 reaches both children, x0 = 1 only the second
    b = CircuitBuilder(["binary"])
    b.sum([b.bernoulli(0, p=0.0), b.bernoulli(0, p=0.6)], weights=[[0.5, 0.5]])
    mixture = compile(b.build(), dtype=torch.float64)
    before = _weights(mixture)
    rows = np.array([[1.0], [1.0], [1.0], [0.0], [1.0]])
    with pytest.raises(NotDeterministicError, match=r"deterministic on the data: row 3 has "
                                                    r"log-likelihood -0.356675 but its most "
                                                    r"likely path only -0.693147 \(a sum it"):
        mle(mixture, rows, batch_size=2)  # row 3 is in the second chunk
    for a, b_ in zip(before, _weights(mixture)):  # refused before any parameter changed
        np.testing.assert_array_equal(a, b_)


def test_mle_takes_a_circuit_deterministic_on_the_data_that_no_proof_shows():
    """The same mixture on rows with x0 = 1 only: one child per row, so the counts are plain
    counts and the estimate exact, though the structure is not deterministic."""
    from pcc.analysis import determinism

    b = CircuitBuilder(["binary", "binary"])
    b.sum([b.product([b.bernoulli(0, p=0.0), b.bernoulli(1, p=0.5)]),
           b.product([b.bernoulli(0, p=0.6), b.bernoulli(1, p=0.5)])], weights=[[0.5, 0.5]])
    circuit = b.build()
    assert determinism(circuit).deterministic == "unknown"
    data = np.stack([np.ones(40), np.arange(40) % 4 == 0], 1).astype(float)  # x1: 10 of 40
    model = compile(circuit, dtype=torch.float64)
    mle(model, data, prior=0.5)
    np.testing.assert_allclose(_weights(model)[0][0], [0.5 / 41, 40.5 / 41], atol=1e-12)
    trained = model.to_circuit()
    p = sorted(float(g.params["p"][0]) for g in trained.groups if g.kind == "input")
    # x0's unreached unit keeps p = 0; the reached one (40.5 / 41); x1's: 0.5 and 10.5 / 41
    np.testing.assert_allclose(p, sorted([0.0, 40.5 / 41, 0.5, 10.5 / 41]), atol=1e-12)


def test_full_batch_em_stops_once_it_reached_the_mle(tmp_path):
    """Epoch 1 makes the MLE, epoch 2's update changes no parameter: the run stops there,
    not at `epochs`; `tolerance=None` runs them all."""
    circuit = _psdd(tmp_path)
    data = _rows(300, seed=4)
    model = compile(circuit, dtype=torch.float64)
    _randomize(model, seed=1)
    history = fit(model, data, None, TrainConfig(epochs=10, batch_size=None, init="model",
                                                 progress=False))
    assert history.converged and history.stopped_early and len(history.train) == 2
    assert history.train[1] > history.train[0]  # not by the LL test: epoch 2's LL rose
    model = compile(circuit, dtype=torch.float64)
    history = fit(model, data, None, TrainConfig(epochs=4, batch_size=None, init="model",
                                                 tolerance=None, progress=False))
    assert not history.converged and len(history.train) == 4


def test_full_batch_em_takes_the_start_s_training_ll_from_its_first_e_step(tmp_path, capsys):
    """Epoch 0 of full-batch EM scores only the validation data before training: the first
    E-step computes the start's training LL (saving a pass over the training data)."""
    circuit = _psdd(tmp_path)
    data = _rows(200, seed=6)
    model = compile(circuit, dtype=torch.float64)
    start = mean_log_likelihood(model, data[:150])
    history = fit(model, data[:150], data[150:], TrainConfig(epochs=2, batch_size=None,
                                                             init="model", tolerance=None))
    assert history.start_train == history.train[0] == pytest.approx(start, abs=1e-12)
    assert history.rows()[0][:3] == (0, history.train[0], history.start_valid)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("epoch 0/2: valid -") and "train" not in lines[0], lines
    assert lines[1].startswith("epoch 1/2: train -")
