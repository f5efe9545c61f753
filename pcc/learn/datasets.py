"""Reading training data for `pcc train`: comma-separated `.data[.gz]` files (the twenty binary
density-estimation data sets) and MNIST-style IDX folders or files.

`read_data(path, split)` returns a float64 (rows, variables) array (NaN = missing) and, for
images, their (height, width) shape. For an IDX folder, `split` picks `train-*` or `t10k-*`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.io.idx import load_mnist, read_idx
from pcc.ir.errors import FormatError


def read_data(path: str | Path, split: str = "train") -> tuple[np.ndarray, tuple[int, ...] | None]:
    """(data, image shape or None) of a .data/.csv file, an IDX file or an MNIST-style folder."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or folder", str(path))
    if path.is_dir():
        images, _ = load_mnist(path, split)
        side = int(round(np.sqrt(images.shape[1])))
        return images.astype(np.float64), (side, side) if side * side == images.shape[1] else None
    if "idx" in path.name:
        array = read_idx(path)
        return array.reshape(len(array), -1).astype(np.float64), tuple(array.shape[1:]) or None
    return read_table(path), None


def read_table(path: Path) -> np.ndarray:
    """A comma-separated numeric table (pcc.io.datafile: gzip, missing marks, headers)."""
    from pcc.io.datafile import read_data as read_datafile

    table = read_datafile(path)
    if table.weights is not None:
        raise FormatError("weighted rows (Libra 'weight|' prefixes) cannot be trained on yet",
                          str(path))
    return np.asarray(table.values, dtype=np.float64)
