"""Rows of values as a CSV file, the output of `pcc mpe` and `pcc sample`: discrete variables as
integers, real ones with full float64 precision (17 significant digits), `nan` for entries
left missing. `pcc.data.read_data` reads the file back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pcc.ir import Domain


def write_csv_rows(path: str | Path, values: np.ndarray, domains: Sequence[Domain],
                   header: list[str] | None = None) -> None:
    """Write `values` (rows, variables), one line per row, after the `header` line if any."""
    text = np.char.mod("%.17g", values)
    discrete = np.array([d.discrete for d in domains], dtype=bool)
    finite = np.isfinite(values)
    as_int = np.char.mod("%d", np.where(finite, values, 0).astype(np.int64))
    text = np.where(discrete[None, :] & finite, as_int, np.where(finite, text, "nan"))
    lines = [",".join(row) for row in text.tolist()]
    if header is not None:
        lines.insert(0, ",".join(header))
    with open(path, "w") as f:
        f.write("\n".join(lines) + ("\n" if lines else ""))
