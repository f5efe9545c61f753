"""The exponential family end to end, added as two modules and two table lines: checked by the
IR, evaluated by the reference and torch, MPE, sampling, EM, the .pcc file and the text form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe as reference_mpe
from pcc.backends.torch import compile
from pcc.backends.torch.mpe import mpe
from pcc.backends.torch.sample import sample
from pcc.io.pcc_file import load_pcc, save_pcc
from pcc.ir import COUNT, REAL, CircuitBuilder, InvalidCircuitError
from pcc.learn.em import EM


def _circuit(rates=((0.5, 2.0), (1.5, 0.7))):
    """A mixture of two products over two real variables: exponential x gaussian and
    gaussian x exponential, two units each."""
    b = CircuitBuilder([REAL, REAL])
    e0 = b.input(0, "exponential", rate=list(rates[0]))
    g1 = b.gaussian(1, mean=[0.0, 2.0], std=[1.0, 0.5])
    g0 = b.gaussian(0, mean=[1.0, -1.0], std=[0.7, 1.2])
    e1 = b.input(1, "exponential", rate=list(rates[1]))
    left, right = b.product([e0, g1]), b.product([g0, e1])
    b.sum([left, right], weights=[[0.1, 0.2, 0.3, 0.4]], mode="dense")
    return b.build()


def _data(rng: np.random.Generator, rows: int) -> np.ndarray:
    x = rng.normal(0.5, 2.0, (rows, 2))
    x[rng.random((rows, 2)) < 0.2] = np.nan
    return x


def test_the_ir_checks_its_parameters_naming_the_input():
    b = CircuitBuilder([REAL])
    b.input(0, "exponential", rate=[1.0, -2.0])
    with pytest.raises(InvalidCircuitError, match=r"input #0.*rate must be finite and > 0, "
                                                  r"got -2.0 at \[1\]"):
        b.build()
    b = CircuitBuilder([COUNT])
    b.input(0, "exponential", rate=[1.0])
    with pytest.raises(InvalidCircuitError, match="input cannot model x0, which is count"):
        b.build()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_equals_the_reference_with_missing_and_negative_values(dtype):
    circuit = _circuit()
    x = _data(np.random.default_rng(0), 200)
    want = log_likelihood(circuit, x)
    assert np.isneginf(want).any() and np.isfinite(want).any()   # negative values: density 0
    with torch.no_grad():
        got = compile(circuit, dtype=dtype)(x).double().numpy()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_mpe_equals_the_reference():
    circuit = _circuit()
    x = _data(np.random.default_rng(1), 50)
    x = np.where(x < 0, -x, x)          # every row of positive probability
    states, values = reference_mpe(circuit, x)
    result = mpe(compile(circuit, dtype=torch.float64), x)
    np.testing.assert_allclose(result.states.numpy(), states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.values.numpy(), values, rtol=1e-12)


def test_samples_follow_the_circuit():
    """The mean of x0 under the circuit: sum_k w_k E[x0 | k], an exponential's 1 / rate for
    the first product's units, a Gaussian's mean for the second's."""
    circuit = _circuit()
    draws = sample(compile(circuit, dtype=torch.float64), num_samples=40000, generator=3).numpy()
    w = np.array([0.1, 0.2, 0.3, 0.4])
    expected = w @ np.array([1 / 0.5, 1 / 2.0, 1.0, -1.0])
    assert abs(draws[:, 0].mean() - expected) < 0.05
    assert np.isfinite(log_likelihood(circuit, draws[:200])).all()


def test_em_learns_rates_from_the_data():
    """EM on samples of the circuit from other starting rates: the log-likelihood rises at
    every step and ends near that of the true circuit."""
    truth = _circuit()
    data = sample(compile(truth, dtype=torch.float64), num_samples=3000, generator=4).numpy()
    data[np.random.default_rng(5).random(data.shape) < 0.1] = np.nan
    model = compile(_circuit(rates=((3.0, 0.2), (0.3, 3.0))), dtype=torch.float64)
    em = EM(model, prior=0.0)
    lls = []
    for _ in range(15):
        lls.append(em.accumulate(torch.as_tensor(data)))
        em.update()
    assert all(b >= a - 1e-6 for a, b in zip(lls, lls[1:]))
    best = log_likelihood(truth, data).sum()
    assert lls[-1] > lls[0] and lls[-1] > best - 0.01 * abs(best)
    learned = model.to_circuit()
    rates = learned[0].params["rate"]
    assert learned[0].family == "exponential" and np.all(rates > 0)


def test_the_pcc_file_and_the_text_form_keep_it(tmp_path):
    circuit = _circuit()
    save_pcc(circuit, tmp_path / "c.pcc")
    loaded = load_pcc(tmp_path / "c.pcc")
    assert repr(loaded) == repr(circuit)
    assert "input exponential(x0) [2] rate=[0.5, 2.0]" in repr(circuit)
    x = _data(np.random.default_rng(6), 20)
    np.testing.assert_array_equal(log_likelihood(loaded, x), log_likelihood(circuit, x))
