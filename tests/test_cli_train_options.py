"""`pcc train` as a user meets it (issue 23 items 1, 2 and 6; issue 21 item 3): every bad argument
is one argparse-style line with exit status 2 before any work, bad data names the file and
1-based line, --device, --mle, the initial model as epoch 0 (never a worse model written), the
epoch lines and the history beside the model."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from pcc.backends.reference import log_likelihood
from pcc.cli.main import main
from pcc.io import load_circuit
from tests.test_learn_from_file import PSDD, _skewed

# (extra arguments, the message): each checked before the (missing) data file is read
BAD = [
    (["--structure", "rat", "--units", "0"], "--units must be >= 1, got 0"),
    (["--structure", "rat", "--units", "-4"], "--units must be >= 1, got -4"),
    (["--structure", "rat", "--units", "2", "--input-units", "0"],
     "--input-units must be >= 1, got 0"),
    (["--structure", "rat", "--units", "2", "--step-size", "5"],
     "--step-size must lie in (0, 1], got 5.0"),
    (["--structure", "rat", "--units", "2", "--lr", "-1"], "--lr must be > 0, got -1.0"),
    (["--structure", "rat", "--units", "2", "--batch-size", "-5"],
     "--batch-size must be >= 0, got -5"),
    (["--structure", "rat", "--units", "2", "--prior", "-1"], "--prior must be >= 0, got -1.0"),
    (["--structure", "rat", "--units", "2", "--prior", "nan"],
     "--prior: expected a finite number, got nan"),
    (["--structure", "rat", "--units", "2", "--repetitions", "0"],
     "--repetitions must be >= 1, got 0"),
    (["--structure", "pd", "--units", "2", "--shape", "banana"],
     "--shape: expected HxW in pixels, e.g. 28x28, got 'banana'"),
    (["--structure", "pd", "--units", "2", "--delta", "0"],
     "--delta: expected positive cut steps, e.g. 7 or 4,7, got '0'"),
    (["--structure", "rat", "--units", "2", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--structure", "rat", "--units", "2", "--seed", str(2 ** 63)],
     f"--seed must be at most 2^63-1, got {2 ** 63}"),
    (["--structure", "rat", "--units", "2", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--structure", "rat", "--units", "2", "--epochs", "-1"], "--epochs must be >= 1, got -1"),
    (["--structure", "rat", "--units", "2", "--time-limit", "-5"],
     "--time-limit must be > 0, got -5.0"),
    (["--structure", "rat", "--units", "2", "--limit", "-3"], "--limit must be >= 1, got -3"),
    (["--structure", "rat", "--units", "2", "--patience", "-2"],
     "--patience must be >= 0, got -2"),
    (["--structure", "rat", "--units", "2", "--valid-fraction", "-0.5"],
     "--valid-fraction must be >= 0, got -0.5"),
    (["--structure", "rat", "--units", "2", "--valid-fraction", "1"],
     "--valid-fraction must be below 1, got 1.0"),
    (["--structure", "rat", "--units", "2", "--device", "banana"],
     "--device: expected cpu, cuda or cuda:N, got 'banana'"),
    (["--structure", "rat", "--units", "2", "--mle"],
     "--epochs: options of iterative training, not of --mle (one pass over the data)"),
    (["--init", "x.psdd", "--mle", "--batch-size", "10"],
     "--epochs, --batch-size: options of iterative training, not of --mle (one pass over "
     "the data)"),
]


def _run(args: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    status = main(["train", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


@pytest.mark.parametrize("extra,message", BAD)
def test_every_bad_argument_is_one_line_before_any_work(tmp_path, capsys, extra, message):
    out = tmp_path / "o.pcc"
    status, _, err = _run(["--data", str(tmp_path / "absent.data"), "--epochs", "1",
                           "-o", str(out), *extra], capsys)
    assert status == 2 and err == f"pcc train: error: {message}", err
    assert not out.exists()


def test_an_unwritable_output_fails_before_training(tmp_path, capsys):
    args = ["--structure", "rat", "--units", "2", "--epochs", "1",
            "--data", str(tmp_path / "absent.data")]
    status, _, err = _run([*args, "-o", "/nonexistent/x.pcc"], capsys)
    assert status == 2 and err == "pcc train: error: -o /nonexistent/x.pcc: no folder " \
                                  "/nonexistent to write it in"
    status, _, err = _run([*args, "-o", str(tmp_path)], capsys)
    assert status == 2 and err.endswith("a folder; name the .pcc file to write"), err


def test_epochs_are_required_except_with_mle(tmp_path, capsys):
    status, _, err = _run(["--structure", "rat", "--units", "2", "--data", "x.data",
                           "-o", str(tmp_path / "o.pcc")], capsys)
    assert status == 2 and err == "pcc train: error: the following arguments are required: " \
                                  "--epochs"
    status, _, err = _run(["--structure", "rat", "--units", "2", "--data", "x.data", "--mle",
                           "-o", str(tmp_path / "o.pcc")], capsys)
    assert status == 2 and err == "pcc train: error: --mle estimates the parameters of a " \
                                  "circuit read with --init FILE"


def test_device_cuda_without_cuda_is_one_clear_line(tmp_path, capsys):
    common = ["--structure", "rat", "--units", "2", "--epochs", "1", "--data", "x.data",
              "-o", str(tmp_path / "o.pcc")]
    if torch.cuda.is_available():
        status, _, err = _run([*common, "--device", "cuda:99"], capsys)
        assert status == 2 and "--device cuda:99: there are" in err
        return
    for device in ("cuda", "cuda:1"):
        status, _, err = _run([*common, "--device", device], capsys)
        assert status == 2 and err == (
            f"pcc train: error: --device {device}: CUDA is not available here (no GPU found, "
            "or torch built without CUDA); use --device cpu")


@pytest.fixture()
def psdd_files(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "x.psdd").write_text(PSDD)
    data = _skewed(300)
    np.savetxt(tmp_path / "train.data", data[:200], fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "valid.data", data[200:250], fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "test.data", data[250:], fmt="%d", delimiter=",")
    return tmp_path, data


def test_bad_data_names_the_file_and_its_line(psdd_files, capsys):
    folder, data = psdd_files
    bad = data[:10].astype(int)
    bad[6, 2] = 2  # line 7 of the file
    np.savetxt(folder / "bad.data", bad, fmt="%d", delimiter=",")
    for option in ("--data", "--valid", "--test"):
        args = {"--data": str(folder / "train.data"), option: str(folder / "bad.data")}
        status, _, err = _run(["--init", str(folder / "x.psdd"), "--epochs", "1",
                               *[a for kv in args.items() for a in kv],
                               "-o", str(folder / "o.pcc")], capsys)
        assert status == 2 and err.startswith(f"pcc train: error: {folder / 'bad.data'}:7:5: "
                                              "column 2 (x2) holds 2.0"), err
    # a new structure: its domains come from the training data; held-out data are checked too
    status, _, err = _run(["--structure", "chain", "--units", "2", "--epochs", "1",
                           "--data", str(folder / "train.data"), "--test",
                           str(folder / "bad.data"), "-o", str(folder / "o.pcc")], capsys)
    assert status == 2 and f"{folder / 'bad.data'}:7:5: column 2 (x2)" in err, err


def test_fine_tuning_never_writes_a_model_worse_on_validation(psdd_files, capsys):
    """Adam with a huge step ruins the PSDD; the start (epoch 0) is what gets written."""
    folder, data = psdd_files
    out = folder / "o.pcc"
    status, printed, err = _run(["--init", str(folder / "x.psdd"), "--data",
                                 str(folder / "train.data"), "--valid", str(folder / "valid.data"),
                                 "--adam", "--lr", "50", "--epochs", "2", "--batch-size", "10",
                                 "--dtype", "float64", "-o", str(out)], capsys)
    assert status == 0, err
    assert "kept epoch 0 (best validation LL)" in printed
    start = log_likelihood(load_circuit(folder / "x.psdd"), data[200:250]).mean()
    assert log_likelihood(load_circuit(out), data[200:250]).mean() == pytest.approx(start,
                                                                                  abs=1e-9)
    lines = err.splitlines()
    assert lines[0].startswith("epoch 0/2: train -") and f"valid {start:.4f}" in lines[0]
    assert [line[:10] for line in lines] == ["epoch 0/2:", "epoch 1/2:", "epoch 2/2:"]


def test_the_history_is_written_beside_the_model(psdd_files, capsys, monkeypatch):
    folder, _ = psdd_files
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as where it is not installed
    status, printed, _ = _run(["--init", str(folder / "x.psdd"), "--data",
                               str(folder / "train.data"), "--valid", str(folder / "valid.data"),
                               "--epochs", "3", "--patience", "1", "--no-progress",
                               "-o", str(folder / "tuned.pcc")], capsys)
    assert status == 0
    table = folder / "tuned.history.csv"
    assert f"wrote {table}; pip install 'pcc[plot]' (matplotlib) to draw the learning " \
           "curve" in printed
    assert not (folder / "tuned.history.png").exists()
    rows = table.read_text().splitlines()
    assert rows[0] == "epoch,train_ll,valid_ll,seconds"
    cells = [row.split(",") for row in rows[1:]]
    assert [c[0] for c in cells] == [str(e) for e in range(len(cells))] and len(cells) >= 2
    assert all(float(c[1]) < 0 and float(c[2]) < 0 and float(c[3]) >= 0 for c in cells)


def test_the_learning_curve_is_drawn_with_matplotlib(psdd_files, capsys):
    pytest.importorskip("matplotlib")
    folder, _ = psdd_files
    status, printed, _ = _run(["--init", str(folder / "x.psdd"), "--data",
                               str(folder / "train.data"), "--valid", str(folder / "valid.data"),
                               "--epochs", "2", "--no-progress", "-o",
                               str(folder / "tuned.pcc")], capsys)
    assert status == 0
    picture = folder / "tuned.history.png"
    assert f"and {picture}" in printed
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mle_fits_a_psdd_in_one_pass(psdd_files, capsys):
    folder, data = psdd_files
    out = folder / "mle.pcc"
    status, printed, err = _run(["--init", str(folder / "x.psdd"), "--mle", "--data",
                                 str(folder / "train.data"), "--valid", str(folder / "valid.data"),
                                 "--dtype", "float64", "-o", str(out)], capsys)
    assert status == 0, err
    assert "; 1 epoch in " in printed and "kept epoch 1 (best validation LL)" in printed
    assert [line[:10] for line in err.splitlines()] == ["epoch 0/1:", "epoch 1/1:"]
    top = [g for g in load_circuit(out).groups if g.kind == "input" and g.family == "bernoulli"]
    x3 = data[:200, 2]
    assert top[0].params["p"][0] == pytest.approx((x3.sum() + 0.5) / (len(x3) + 1), abs=1e-12)


def test_mle_refuses_a_circuit_not_deterministic_on_the_data_by_file_line(tmp_path, capsys):
    from pcc.io import save_circuit
    from pcc.ir import CircuitBuilder

    b = CircuitBuilder(["binary"])
    b.sum([b.bernoulli(0, p=0.3), b.bernoulli(0, p=0.6)], weights=[[0.5, 0.5]])
    save_circuit(b.build(), tmp_path / "mix.pcc")
    np.savetxt(tmp_path / "t.data", np.ones((5, 1)), fmt="%d", delimiter=",")
    status, _, err = _run(["--init", str(tmp_path / "mix.pcc"), "--mle", "--data",
                           str(tmp_path / "t.data"), "-o", str(tmp_path / "o.pcc")], capsys)
    assert status == 2 and err == (
        f"pcc train: error: {tmp_path / 't.data'}:1: the closed-form MLE needs a circuit that "
        "is deterministic on the data: this row has log-likelihood -0.798508 but its most "
        "likely path only -1.20397 (a sum it reaches mixes two children); train it with EM "
        "instead (--em --batch-size 0)"), err
    holes = np.ones((5, 1))
    holes[3, 0] = np.nan
    np.savetxt(tmp_path / "h.data", holes, fmt="%g", delimiter=",")
    status, _, err = _run(["--init", str(tmp_path / "mix.pcc"), "--mle", "--data",
                           str(tmp_path / "h.data"), "-o", str(tmp_path / "o.pcc")], capsys)
    assert status == 2 and err == (
        f"pcc train: error: {tmp_path / 'h.data'}:4: column 0 (x0) is missing: the closed-form "
        "MLE needs complete data (1 missing values); train with EM instead (--em --batch-size 0)")


def test_fine_tuning_defaults_to_full_batch_em_with_pseudo_count_half(psdd_files, capsys):
    """On a deterministic circuit one full-batch EM epoch is the MLE: the defaults' result
    shows both choices (a mini-batch step or another pseudo-count would differ)."""
    folder, data = psdd_files
    out = folder / "tuned.pcc"
    status, _, err = _run(["--init", str(folder / "x.psdd"), "--data", str(folder / "train.data"),
                           "--epochs", "1", "--dtype", "float64", "-o", str(out)], capsys)
    assert status == 0, err
    top = [g for g in load_circuit(out).groups if g.kind == "input" and g.family == "bernoulli"]
    x3 = data[:200, 2]
    assert top[0].params["p"][0] == pytest.approx((x3.sum() + 0.5) / (len(x3) + 1), abs=1e-12)


def test_the_cli_default_pseudo_count_is_the_mle_s():
    from pcc.cli.train import INIT_DEFAULTS
    from pcc.learn import MLE_PRIOR

    assert INIT_DEFAULTS["prior"] == MLE_PRIOR == 0.5
