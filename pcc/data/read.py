"""`read_data`: any data file pcc reads, as a `DataFile` (float64 rows, NaN = missing).

- a folder: MNIST-style IDX files (`train-images-idx3-ubyte[.gz]`, `t10k-...`); `split` picks
  `train` or `test` (t10k);
- a file with `idx` in its name: one IDX array, a row per first index;
- anything else: a comma-separated table (`.data`, `.csv`, `.ev`, gzipped or not) or `.npy`
  (`pcc.data.table`).
Images keep their (height, width) in `DataFile.image_shape`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.data.datafile import DataFile
from pcc.data.idx import load_mnist, read_idx
from pcc.data.table import read_table
from pcc.ir.errors import FormatError

SPLITS = ("train", "test")


def read_data(path: str | Path, split: str = "train") -> DataFile:
    """The data at `path` (see the module doc); `split` matters for folders only."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or folder", str(path))
    if path.is_dir():
        images, _ = load_mnist(path, split)
        side = int(round(np.sqrt(images.shape[1])))
        shape = (side, side) if side * side == images.shape[1] else None
        return _array(path, images, shape)
    if "idx" in path.name:
        array = read_idx(path)
        return _array(path, array.reshape(len(array), -1), tuple(array.shape[1:]) or None)
    return read_table(path)


def _array(path: Path, values: np.ndarray, shape: tuple[int, ...] | None) -> DataFile:
    return DataFile(str(path), values.astype(np.float64), None, None,
                    np.arange(1, len(values) + 1), shape)


def unweighted(data: DataFile) -> np.ndarray:
    """`data.values` for a consumer that cannot use Libra example weights (training)."""
    if data.weights is not None:
        raise FormatError("weighted rows (Libra 'weight|' prefixes) cannot be trained on yet",
                          data.path)
    return np.asarray(data.values, dtype=np.float64)


def binarize(values: np.ndarray, threshold: float) -> np.ndarray:
    """1 where a value exceeds `threshold`, else 0; missing values stay missing."""
    return np.where(np.isnan(values), np.nan, (values > threshold).astype(np.float64))


def hold_out(values: np.ndarray, fraction: float, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held out): a seeded random `fraction` of the rows held out (for validation)."""
    order = np.random.default_rng(seed).permutation(len(values))
    cut = len(values) - int(round(fraction * len(values)))
    return values[order[:cut]], values[order[cut:]]
