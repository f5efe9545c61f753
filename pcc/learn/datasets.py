"""Reading training data for `pcc train`: comma-separated `.data[.gz]` files (the twenty binary
density-estimation data sets) and MNIST-style IDX folders or files.

`read_data(path, split)` returns a float64 (rows, variables) array (NaN = missing) and, for
images, their (height, width) shape. For an IDX folder, `split` picks `train-*` or `t10k-*`.
"""

from __future__ import annotations

import gzip
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
    """A comma-separated numeric table, one example per line; '?' or empty fields are missing.
    Uses pcc.io.datafile when that reader is installed, else a small reader of its own."""
    try:
        from pcc.io.datafile import read_datafile  # type: ignore[import-not-found]
    except ImportError:
        read_datafile = None
    if read_datafile is not None:
        return np.asarray(read_datafile(path), dtype=np.float64)
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    rows: list[list[float]] = []
    with opener(path, "rt") as handle:  # type: ignore[operator]
        for line_no, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            row = []
            for col, field in enumerate(line.split(","), start=1):
                field = field.strip()
                try:
                    row.append(np.nan if field in ("", "?", "nan", "NaN") else float(field))
                except ValueError:
                    raise FormatError(f"not a number: {field!r} (column {col})", str(path),
                                      line_no) from None
            if rows and len(row) != len(rows[0]):
                raise FormatError(f"{len(row)} fields, but the first line has {len(rows[0])}",
                                  str(path), line_no)
            rows.append(row)
    if not rows:
        raise FormatError("no data rows", str(path))
    return np.array(rows, dtype=np.float64)
