"""Training a circuit read from a file (issue 14): `pcc train --init FILE` and `fit` on the
compiled result of any circuit. EM on a PSDD keeps it deterministic and normalized: its literals
(indicator inputs) have nothing to learn, its sums and its top nodes (Bernoulli) do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.analysis import determinism, normalization
from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import sample
from pcc.backends.torch import compile
from pcc.cli.main import main
from pcc.io import load_circuit
from pcc.ir import Circuit, Input, Sum
from pcc.learn import TrainConfig, fit, mean_log_likelihood

# x1 -> (x2 -> x3): decisions over literals and a top node of x3 with its own probability
PSDD = """psdd 7
L 0 0 1
L 1 0 -1
L 2 2 2
L 3 2 -2
T 4 4 3 -0.5
D 5 3 2 2 4 -0.6931471805599453 3 4 -0.6931471805599453
D 6 1 2 0 5 -0.2231435513142097 1 5 -1.6094379124341003
"""


def _draws(circuit: Circuit, rows: int, seed: int = 0) -> np.ndarray:
    """Rows drawn from a circuit (the reference sampler), a few values then hidden."""
    rng = np.random.default_rng(seed)
    x = sample(circuit, np.full((rows, circuit.num_vars), np.nan), rng)
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


def _assert_deterministic_and_normalized(circuit: Circuit, atol: float = 1e-12) -> None:
    assert determinism(circuit).deterministic == "yes"
    assert normalization(circuit).normalized is True
    for group in circuit.groups:
        if isinstance(group, Sum):
            np.testing.assert_allclose(group.weights.sum(-1), 1.0, rtol=0, atol=atol)


def _skewed(rows: int) -> np.ndarray:
    """Data unlike the PSDD's own distribution: x1 mostly 0, x2 = x1, x3 mostly 1."""
    rng = np.random.default_rng(1)
    a = (rng.random(rows) < 0.2).astype(float)
    return np.stack([a, a, (rng.random(rows) < 0.9).astype(float)], 1)


def test_pcc_train_init_fine_tunes_a_psdd_with_em(tmp_path, capsys):
    (tmp_path / "x.psdd").write_text(PSDD)
    data = _skewed(300)
    np.savetxt(tmp_path / "train.data", data[:240], fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "test.data", data[240:], fmt="%d", delimiter=",")
    out = tmp_path / "tuned.pcc"
    status = main(["train", "--init", str(tmp_path / "x.psdd"), "--data",
                   str(tmp_path / "train.data"), "--test", str(tmp_path / "test.data"),
                   "--epochs", "3", "--batch-size", "0", "--em", "--dtype", "float64",
                   "--no-progress", "-o", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    before, after = load_circuit(tmp_path / "x.psdd"), load_circuit(out)
    assert [type(g) for g in after.groups] == [type(g) for g in before.groups]  # structure kept
    _assert_deterministic_and_normalized(after)
    ll_before = log_likelihood(before, data[240:]).mean()
    ll_after = log_likelihood(after, data[240:]).mean()
    assert ll_after > ll_before + 0.3
    assert f"test log-likelihood {ll_after:.4f}" in printed
    # the literals are untouched; the top node of x3 learned that x3 is mostly 1
    top = [g for g in after.groups if isinstance(g, Input) and g.family == "bernoulli"]
    assert len(top) == 1 and top[0].params["p"][0] > 0.8


def test_pcc_train_init_with_adam_keeps_the_sums_normalized(tmp_path):
    (tmp_path / "x.psdd").write_text(PSDD)
    np.savetxt(tmp_path / "t.data", _skewed(200), fmt="%d", delimiter=",")
    out = tmp_path / "adam.pcc"
    assert main(["train", "--init", str(tmp_path / "x.psdd"), "--data", str(tmp_path / "t.data"),
                 "--epochs", "2", "--adam", "--lr", "0.1", "--no-progress", "-o", str(out)]) == 0
    _assert_deterministic_and_normalized(load_circuit(out), atol=1e-6)  # trained in float32


def test_pcc_train_init_misuse_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "x.psdd").write_text(PSDD)
    np.savetxt(tmp_path / "t.data", _skewed(20), fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "wide.data", np.zeros((5, 4)), fmt="%d", delimiter=",")
    common = ["train", "--data", str(tmp_path / "t.data"), "--epochs", "1", "-o",
              str(tmp_path / "o.pcc")]
    cases = [
        (["--init", str(tmp_path / "x.psdd"), "--units", "4"],
         "--units: options of a new --structure, not of --init"),
        (["--structure", "rat"], "--structure needs --units K"),
        (["--structure", "rat", "--units", "2", "--format", "psdd"],
         "--format names the format of the --init file"),
        (["--init", str(tmp_path / "missing.psdd")], "no such file"),
    ]
    for extra, message in cases:
        assert main([*common, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    wide = ["train", "--init", str(tmp_path / "x.psdd"), "--data", str(tmp_path / "wide.data"),
            "--epochs", "1", "-o", str(tmp_path / "o.pcc")]
    assert main(wide) == 2
    assert "data has 4 columns but the circuit has 3 variables" in capsys.readouterr().err


def test_fit_on_the_compiled_result_of_a_psdd_file(tmp_path):
    (tmp_path / "x.psdd").write_text(PSDD)
    circuit = load_circuit(tmp_path / "x.psdd")
    model = compile(circuit, dtype=torch.float64)
    data = _draws(circuit, 400)
    start = mean_log_likelihood(model, data)
    history = fit(model, data, None, TrainConfig(epochs=4, batch_size=None, progress=False))
    assert np.all(np.diff([start, *history.train]) >= -1e-10)  # full-batch EM: monotone
    _assert_deterministic_and_normalized(model.to_circuit())


@pytest.mark.parametrize("name,rows", [("little_4var", None), ("nltcs", "twenty")])
def test_em_on_a_shipped_psdd_keeps_it_deterministic_and_normalized(shared_data, name, rows):
    path = shared_data / "circuits" / "psdd" / f"{name}.psdd"
    if not path.exists():
        pytest.skip(f"no {path}")
    circuit = load_circuit(path)
    if rows == "twenty":
        from pcc.data import read_data

        table = shared_data / "twenty" / name / f"{name}.train.data.gz"
        if not table.exists():
            pytest.skip(f"no {table}")
        data = read_data(table).values[:2000]
    else:
        data = _draws(circuit, 500)
    model = compile(circuit, dtype=torch.float64)
    start = mean_log_likelihood(model, data)
    history = fit(model, data, None, TrainConfig(epochs=2, batch_size=None, progress=False))
    assert history.train[0] == pytest.approx(start, abs=1e-9)
    assert mean_log_likelihood(model, data) >= history.train[-1] - 1e-10 >= start - 1e-10
    trained = model.to_circuit()
    _assert_deterministic_and_normalized(trained)
    assert log_likelihood(trained, data).mean() == pytest.approx(
        mean_log_likelihood(model, data), abs=1e-9)


def _histogram_circuit() -> Circuit:
    """x0 by a histogram, x1 by two Bernoullis, a mixture of their products."""
    from pcc.ir import CircuitBuilder

    b = CircuitBuilder(["binary", "binary"])
    h = b.histogram(0, breaks=[[0.0, 1.0, 2.0]], densities=[[0.3, 0.7]])
    low = b.product([h, b.bernoulli(1, p=0.2)], mode="hadamard")
    high = b.product([h, b.bernoulli(1, p=0.9)], mode="hadamard")
    b.sum([low, high], weights=[[0.5, 0.5]])
    return b.build()


def test_pcc_train_init_from_a_pcc_file_and_em_without_an_m_step(tmp_path, capsys):
    from pcc.io import save_circuit

    save_circuit(_histogram_circuit(), tmp_path / "h.pcc")
    rows = (np.random.default_rng(0).random((100, 2)) < 0.7).astype(int)
    np.savetxt(tmp_path / "t.data", rows, fmt="%d", delimiter=",")
    common = ["train", "--init", str(tmp_path / "h.pcc"), "--data", str(tmp_path / "t.data"),
              "--epochs", "2", "--no-progress", "-o", str(tmp_path / "o.pcc")]
    assert main([*common, "--em"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pcc train: error: EM has no M-step for histogram inputs (1 units")
    assert "--adam" in err and "\n" not in err
    assert main([*common, "--adam", "--lr", "0.1"]) == 0
    trained = load_circuit(tmp_path / "o.pcc")
    before = log_likelihood(_histogram_circuit(), rows.astype(float)).mean()
    assert log_likelihood(trained, rows.astype(float)).mean() > before


def test_pcc_train_init_applies_passes_first(tmp_path, capsys):
    (tmp_path / "x.psdd").write_text(PSDD)
    np.savetxt(tmp_path / "t.data", _skewed(100), fmt="%d", delimiter=",")
    common = ["train", "--init", str(tmp_path / "x.psdd"), "--data", str(tmp_path / "t.data"),
              "--epochs", "1", "--no-progress", "-o", str(tmp_path / "o.pcc")]
    assert main([*common, "--passes", "prune,normalize"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("prune") and lines[1].startswith("normalize"), lines
    _assert_deterministic_and_normalized(load_circuit(tmp_path / "o.pcc"), atol=1e-6)
    assert main([*common, "--passes", "prune,nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown pass 'nosuch'" in err and "\n" not in err
