"""`DataFile`: a data table read from a file, with where each row came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DataFile:
    """A data matrix (rows, columns) with NaN for missing values, and where it came from."""

    path: str
    values: np.ndarray
    weights: np.ndarray | None      # Libra `weight|` prefixes, one per row, or None
    header: list[str] | None        # a skipped header line of column names, or None
    line_numbers: np.ndarray        # the file line of each row (1-based; the row for IDX/.npy)
    image_shape: tuple[int, ...] | None = None  # IDX images: (height, width) of a row

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])
