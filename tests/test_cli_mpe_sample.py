"""`pcc mpe` and `pcc sample`: the files they write, seeds, evidence, and one error line (exit 2)
for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pcc.backends.reference import log_likelihood
from pcc.backends.reference.queries import mpe as reference_mpe
from pcc.cli.main import main
from pcc.io import save_circuit
from pcc.data import read_data
from pcc.ir import BINARY, REAL, CircuitBuilder, categorical


def run(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # an option refused by the parser
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def mixture(tmp_path: Path) -> tuple[Path, object]:
    b = CircuitBuilder([BINARY, categorical(3), REAL])
    a = b.product([b.bernoulli(0, 0.9), b.categorical(1, [0.1, 0.2, 0.7]), b.gaussian(2, 1.5, 1.0)])
    c = b.product([b.bernoulli(0, 0.2), b.categorical(1, [0.6, 0.3, 0.1]), b.gaussian(2, -2.0, 0.5)])
    b.sum([a, c], weights=[0.45, 0.55])
    circuit = b.build()
    path = tmp_path / "m.pcc"
    save_circuit(circuit, path)
    return path, circuit


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_mpe_fills_missing_entries_and_keeps_the_header(capsys, tmp_path: Path, backend) -> None:
    model, circuit = mixture(tmp_path)
    data = write(tmp_path / "d.csv", "a,b,c\n1,*,0.25\n?,?,?\n0,2,\n")
    out = tmp_path / "o.csv"
    status, text, err = run(capsys, "mpe", model, "--data", data, "-o", out, "--backend", backend)
    assert status == 0 and err == ""
    assert "3 rows, 5 missing entries filled" in text
    assert "max-product approximation" in text
    lines = out.read_text().splitlines()
    assert lines[0] == "a,b,c"
    got = read_data(out).values
    rows = read_data(data).values
    want, _ = reference_mpe(circuit, rows)
    assert np.array_equal(got, want)
    assert lines[1].startswith("1,2,0.25")             # integers for discrete, floats for real


def test_mpe_is_exact_on_a_deterministic_circuit(capsys, tmp_path: Path) -> None:
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.product([b.indicator(0, 0), b.bernoulli(1, 0.3)]),
           b.product([b.indicator(0, 1), b.bernoulli(1, 0.8)])], weights=[0.7, 0.3])
    path = tmp_path / "d.pcc"
    save_circuit(b.build(), path)
    data = write(tmp_path / "d.csv", "*,*\n*,1\n1,*\n")
    out = tmp_path / "o.csv"
    status, text, _ = run(capsys, "mpe", path, "--data", data, "-o", out, "--dtype", "float32")
    assert status == 0
    assert "exact MPE (the circuit is proved deterministic)" in text
    assert out.read_text().splitlines() == ["0,0", "1,1", "1,1"]   # 0.7 x 0.3 < 0.3 x 0.8


def test_sample_writes_reproducible_draws(capsys, tmp_path: Path) -> None:
    model, circuit = mixture(tmp_path)
    first, again, other = (tmp_path / f"s{i}.csv" for i in range(3))
    assert run(capsys, "sample", model, "-n", 500, "--seed", 3, "-o", first)[0] == 0
    assert run(capsys, "sample", model, "-n", 500, "--seed", 3, "-o", again)[0] == 0
    assert run(capsys, "sample", model, "-n", 500, "--seed", 4, "-o", other)[0] == 0
    assert first.read_text() == again.read_text() != other.read_text()
    draws = read_data(first).values
    assert draws.shape == (500, 3)
    assert np.isfinite(log_likelihood(circuit, draws)).all()   # real values round-trip exactly
    assert (draws[:, 0] == 1).mean() == pytest.approx(0.45 * 0.9 + 0.55 * 0.2, abs=0.08)


def test_sample_given_evidence_repeats_each_row(capsys, tmp_path: Path) -> None:
    model, _ = mixture(tmp_path)
    evidence = write(tmp_path / "e.csv", "1,*,*\n*,0,-2.5\n")
    out = tmp_path / "s.csv"
    for backend in ("torch", "reference"):
        status, text, _ = run(capsys, "sample", model, "-n", 4, "--evidence", evidence, "-o", out,
                              "--backend", backend)
        assert status == 0 and f"8 samples given {evidence}" in text
        draws = read_data(out).values
        assert np.all(draws[:4, 0] == 1) and np.all(draws[4:, 1:] == [0, -2.5])
        assert not np.isnan(draws).any()


def bad_circuit(tmp_path: Path) -> Path:
    b = CircuitBuilder([BINARY, BINARY])
    b.sum([b.bernoulli(0, 0.3), b.bernoulli(1, 0.6)], weights=[0.5, 0.5])
    path = tmp_path / "bad.pcc"
    save_circuit(b.build(), path)
    return path


@pytest.mark.parametrize("argv, message", [
    (["sample", "{m}", "-n", "0", "-o", "{o}"],
     "argument -n/--num-samples: must be an integer >= 1, got '0'"),
    (["sample", "{m}", "-n", "-2", "-o", "{o}"],
     "argument -n/--num-samples: must be an integer >= 1, got '-2'"),
    (["mpe", "{m}", "--data", "{wide}", "-o", "{o}"], ("wide.csv:1: the data has 4 columns but "
                                                          "the circuit has 3 variables")),
    (["mpe", "{m}", "--data", "{domain}", "-o", "{o}"], "domain.csv:2:3: column 1 (x1) holds 5.0"),
    (["sample", "{m}", "-n", "2", "--evidence", "{domain}", "-o", "{o}"], "column 1 (x1) holds 5.0"),
    (["mpe", "{bad}", "--data", "{pair}", "-o", "{o}"],
     "bad.pcc is not a valid PC (smooth and decomposable), which MPE needs: sum #2 is not "
     "smooth: child #0 has scope {0}, child #1 has scope {1}; `pcc check "),
    (["sample", "{bad}", "-n", "3", "-o", "{o}"], "which sampling needs: sum #2 is not smooth"),
    (["sample", "{bad}", "-n", "3", "-o", "{o}", "--backend", "reference"],
     "which sampling needs: sum #2 is not smooth"),
    (["sample", "{det}", "-n", "3", "--evidence", "{pair}", "-o", "{o}"],
     "pair.csv:1: this evidence has probability zero under "),
])
def test_bad_input_is_one_error_line(capsys, tmp_path: Path, argv, message) -> None:
    model, _ = mixture(tmp_path)
    b = CircuitBuilder([BINARY, BINARY])
    b.product([b.indicator(0, 1), b.bernoulli(1, 0.5)])
    det = tmp_path / "det.pcc"
    save_circuit(b.build(), det)
    paths = {"m": model, "o": tmp_path / "o.csv", "bad": bad_circuit(tmp_path), "det": det,
             "wide": write(tmp_path / "wide.csv", "1,1,0.5,1\n"),
             "domain": write(tmp_path / "domain.csv", "1,1,0.5\n0,5,0.1\n"),
             "pair": write(tmp_path / "pair.csv", "0,*\n")}
    status, out, err = run(capsys, *[a.format(**paths) for a in argv])
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert err.startswith(f"pcc {argv[0]}: error: ")


def test_mnist_jpc_rows_complete(capsys, tmp_path: Path, shared_data: Path) -> None:
    circuit_file = shared_data / "circuits" / "jpc" / "mnist_cats8_181.jpc"
    if not circuit_file.exists():
        pytest.skip("the MNIST .jpc circuit is absent")
    rows = np.full((3, 784), np.nan)
    rows[:, :392] = (np.arange(3 * 392).reshape(3, 392) % 7 == 0)
    data = tmp_path / "half.npy"
    np.save(data, rows)
    out = tmp_path / "o.csv"
    status, text, _ = run(capsys, "mpe", circuit_file, "--data", data, "-o", out)
    assert status == 0, text
    got = read_data(out).values
    assert got.shape == (3, 784) and not np.isnan(got).any()
    assert np.array_equal(got[:, :392], rows[:, :392])
