"""Checking data against a circuit's variables: shape and domains, NaN = missing; for a matrix
(`check_data`, a DataError naming row and column) or a data file (`check_columns`, a FormatError
naming `file:line:col`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.data.datafile import DataFile
from pcc.frontends._text import read_text
from pcc.ir.domains import Domain
from pcc.ir.errors import DataError, FormatError


def check_data(data: object, domains: Sequence[Domain]) -> np.ndarray:
    """`data` as a float64 (rows, variables) array; NaN marks a missing value.

    Raises `DataError` naming the row, the column and the domain of the first bad value.
    """
    try:
        x = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"data must be a numeric matrix: {error}") from None
    if x.ndim == 1 and len(domains) == x.shape[0]:
        x = x[None, :]
    if x.ndim != 2:
        raise DataError(f"data must be a 2-d (rows, variables) matrix, got shape {x.shape}")
    if x.shape[1] != len(domains):
        raise DataError(f"data has {x.shape[1]} columns but the circuit has {len(domains)} "
                        "variables")
    found = first_outside(x, domains)
    if found is not None:
        row, column, count = found
        domain = domains[column]
        raise DataError(f"row {row}, column {column} (x{column}): value {float(x[row, column])!r} "
                        f"is outside the domain {domain}; expected {domain.describe_values()} "
                        f"or NaN for missing ({count} bad values in this column)")
    return x


def first_outside(x: np.ndarray, domains: Sequence[Domain]) -> tuple[int, int, int] | None:
    """(row, column, bad values in that column) of the first column holding a value outside its
    domain, or None when every observed value fits."""
    for column, domain in enumerate(domains):
        bad = domain.outside(x[:, column])
        if bad.any():
            return int(np.flatnonzero(bad)[0]), column, int(bad.sum())
    return None


def check_columns(data: DataFile, domains: Sequence[Domain]) -> np.ndarray:
    """`data.values` after checking it against a circuit's variables; raises FormatError naming
    `file:line:col` and the token for a wrong column count or a value outside a domain."""
    values = data.values
    if values.shape[1] != len(domains):
        raise FormatError(f"the data has {values.shape[1]} columns but the circuit has "
                          f"{len(domains)} variables", data.path, int(data.line_numbers[0]))
    found = first_outside(values, domains)
    if found is not None:
        row, column, count = found
        domain = domains[column]
        raise FormatError(f"column {column} (x{column}) holds {float(values[row, column])!r}, "
                          f"outside the domain {domain}: expected {domain.describe_values()} "
                          f"or a missing-value mark ({count} such rows)",
                          data.path, int(data.line_numbers[row]), _column_start(data, row, column))
    return values


def _column_start(data: DataFile, row: int, column: int) -> int | None:
    """1-based character column of field `column` on the row's line (None for .npy, IDX)."""
    if data.path.lower().endswith(".npy") or data.image_shape is not None:
        return None
    try:
        line = read_text(data.path).splitlines()[int(data.line_numbers[row]) - 1]
    except (FormatError, IndexError):
        return None
    start = line.find("|") + 1
    for _ in range(column):
        start = line.index(",", start) + 1
    return start + 1
