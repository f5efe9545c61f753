"""`pcc train` end to end: a tiny data set in, a .pcc file out that every command accepts."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from pcc.backends.reference import log_likelihood
from pcc.cli.main import main
from pcc.io import load_circuit


@pytest.fixture()
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, (240, 1))
    data = np.concatenate([a, a ^ (rng.random((240, 1)) < 0.1), rng.integers(0, 2, (240, 4))], 1)
    np.savetxt(tmp_path / "train.data", data[:160], fmt="%d", delimiter=",")
    with gzip.open(tmp_path / "valid.data.gz", "wt") as f:
        np.savetxt(f, data[160:200], fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "test.data", data[200:], fmt="%d", delimiter=",")
    return tmp_path, data


@pytest.mark.parametrize("structure,method", [("hclt", "--em"), ("rat", "--adam")])
def test_train_writes_a_loadable_circuit(tiny, capsys, structure, method):
    folder, data = tiny
    out = folder / f"{structure}.pcc"
    status = main(["train", "--structure", structure, "--data", str(folder / "train.data"),
                   "--valid", str(folder / "valid.data.gz"), "--test", str(folder / "test.data"),
                   "--units", "3", "--epochs", "2", "--batch-size", "40", method,
                   "--no-progress", "--dtype", "float64", "-o", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    test_line = [line for line in printed.splitlines() if line.startswith("test ")][0]
    circuit = load_circuit(out)
    ll = log_likelihood(circuit, data[200:].astype(float)).mean()
    assert f"{ll:.4f}" in test_line  # the reported test LL is the saved model's
    assert main(["check", str(out)]) == 0


def test_train_on_idx_images_with_pd(tmp_path, capsys):
    rng = np.random.default_rng(1)
    images = (rng.random((30, 4, 4)) * 256).astype(np.uint8)
    header = bytes([0, 0, 8, 3]) + struct.pack(">3i", 30, 4, 4)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + images.tobytes())
    labels = bytes([0, 0, 8, 1]) + struct.pack(">i", 30) + bytes(30)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
    out = tmp_path / "pd.pcc"
    status = main(["train", "--structure", "pd", "--delta", "2", "--data", str(tmp_path),
                   "--valid-fraction", "0.2", "--binarize", "127", "--units", "2",
                   "--epochs", "1", "--no-progress", "-o", str(out)])
    assert status == 0 and "bits/dim" in capsys.readouterr().out
    assert load_circuit(out).num_vars == 16


def test_train_bad_input_is_one_line_error(tiny, capsys):
    folder, _ = tiny
    status = main(["train", "--structure", "pd", "--data", str(folder / "train.data"),
                   "--units", "2", "--epochs", "1", "-o", str(folder / "x.pcc")])
    assert status == 2
    assert "needs an image shape with 6 pixels" in capsys.readouterr().err
    status = main(["train", "--structure", "rat", "--data", str(folder / "missing.data"),
                   "--units", "2", "--epochs", "1", "-o", str(folder / "x.pcc")])
    assert status == 2 and "no such file" in capsys.readouterr().err
