"""`pcc.data`: the IDX reader (MNIST files), the `.data` table reader and the one `read_data`
that `pcc train`, `pcc eval` and the tools use."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from pcc.data import (binarize, hold_out, load_mnist, read_data, read_idx, read_table,
                      unweighted)
from pcc.ir import FormatError


def _idx(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_plain_and_gzip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-idx3-ubyte").write_bytes(_idx(images))
    (tmp_path / "b-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), images)
    assert np.array_equal(read_idx(tmp_path / "b-idx3-ubyte.gz"), images)
    floats = np.array([[1.5, -2.0]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(_idx(floats, 0x0D))
    got = read_idx(tmp_path / "f.idx")
    assert got.dtype == np.float32 and np.array_equal(got, floats)


def test_read_idx_errors(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x00\x08\x01")
    with pytest.raises(FormatError, match="bad: not an IDX file"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(FormatError, match="unknown IDX type code 0x07"):
        read_idx(path)
    path.write_bytes(_idx(np.zeros((2, 2), np.uint8))[:-1])
    with pytest.raises(FormatError, match=r"shape \(2, 2\) needs 16 bytes, the file has 15"):
        read_idx(path)


def test_mnist_folder(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4)).astype(np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(labels))
    x, y = load_mnist(tmp_path, "test")
    assert x.shape == (5, 16) and np.array_equal(y, labels)
    data = read_data(tmp_path, "test")
    assert data.image_shape == (4, 4) and np.array_equal(data.values, images.reshape(5, 16))
    assert data.values.dtype == np.float64 and data.weights is None
    one = read_data(tmp_path / "t10k-images-idx3-ubyte.gz")  # an IDX file, by its name
    assert one.image_shape == (4, 4) and np.array_equal(one.values, data.values)
    with pytest.raises(FormatError, match="no train-images-idx3-ubyte"):
        load_mnist(tmp_path, "train")


def test_read_table(tmp_path):
    path = tmp_path / "x.data"
    path.write_text("0,1,?\n1,,0\n")
    for table in (read_table(path).values, unweighted(read_data(path))):
        assert table.shape == (2, 3) and np.isnan(table[0, 2]) and np.isnan(table[1, 1])
    assert read_data(path).image_shape is None
    path.write_text("0,1\n1,0,1\n")
    with pytest.raises(FormatError, match=r"x.data:2"):
        read_data(path)
    path.write_text("0.5|0,1\n2|1,0\n")
    assert read_data(path).weights.tolist() == [0.5, 2.0]
    with pytest.raises(FormatError, match="weighted rows .* cannot be trained on"):
        unweighted(read_data(path))
    with pytest.raises(FormatError, match="no such file or folder"):
        read_data(tmp_path / "missing.data")


def test_binarize_and_hold_out():
    x = np.array([[0.0, 200.0], [np.nan, 127.0]])
    got = binarize(x, 127)
    assert got[0].tolist() == [0.0, 1.0] and np.isnan(got[1, 0]) and got[1, 1] == 0.0
    rows = np.arange(10.0)[:, None]
    rest, held = hold_out(rows, 0.2, seed=3)
    assert len(rest) == 8 and len(held) == 2
    assert sorted(np.concatenate([rest, held])[:, 0].tolist()) == list(range(10))
    assert np.array_equal(hold_out(rows, 0.2, seed=3)[1], held)  # seeded


def test_real_mnist_header(shared_data):
    folder = shared_data / "mnist"
    if not folder.exists():
        pytest.skip("no MNIST files")
    x, y = load_mnist(folder, "test")
    assert x.shape == (10000, 784) and y[:3].tolist() == [7, 2, 1]
