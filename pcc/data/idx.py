"""Reading IDX files (MNIST, Fashion-MNIST): a big-endian header, then one raw array.

Header: two zero bytes, a type code, the number of dimensions, then one big-endian int32 per
dimension. The file may be gzip-compressed (detected by its magic bytes, not its name).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from pcc.ir.errors import FormatError

# type code -> big-endian numpy dtype
TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file, in native byte order."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise FormatError(f"corrupt gzip data: {error}", str(path)) from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise FormatError("not an IDX file (expected two zero bytes at offset 0)", str(path))
    code, ndim = raw[2], raw[3]
    if code not in TYPES:
        raise FormatError(f"unknown IDX type code 0x{code:02x} at offset 2", str(path))
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FormatError(f"truncated header: {ndim} dimensions need {header} bytes", str(path))
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    dtype = np.dtype(TYPES[code])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise FormatError(f"shape {shape} needs {expected} bytes, the file has {len(raw)}",
                          str(path))
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(folder: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images (n, rows * cols) uint8, labels (n,)) of `split` ('train' or 'test') in an MNIST-style
    folder (`train-images-idx3-ubyte[.gz]`, `t10k-...`)."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)

    def find(kind: str) -> Path:
        for name in (f"{prefix}-{kind}-ubyte.gz", f"{prefix}-{kind}-ubyte",
                     f"{prefix}-{kind.replace('-', '.')}-ubyte"):
            if (folder / name).exists():
                return folder / name
        raise FormatError(f"no {prefix}-{kind}-ubyte[.gz] file here", str(folder))

    images = read_idx(find("images-idx3"))
    labels = read_idx(find("labels-idx1"))
    if len(images) != len(labels):
        raise FormatError(f"{len(images)} images but {len(labels)} labels", str(folder))
    return images.reshape(len(images), -1), labels
