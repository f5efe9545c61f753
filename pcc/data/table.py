"""Reading data tables: comma-separated rows (`.csv`, `.data`, `.ev`, `.test`, ...), gzipped or
not, or a `.npy` matrix.

Missing values: `*` (Libra), `?`, an empty field, or `nan` (any case) become NaN, which pcc
marginalizes. A line may start with a Libra example weight `weight|` (e.g. `0.5|1,0,*`): the
weights come back separately (`DataFile.weights`), never as a column. A first line made only of
names (a CSV header) is skipped and kept in `DataFile.header`. Errors name `file:line:col` and the
offending token (`pcc.data.check.check_columns` reports values that do not fit a circuit's
variables the same way).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pcc.data.datafile import DataFile
from pcc.frontends._text import read_text
from pcc.ir import FormatError

MISSING = ("*", "?", "", "nan")
_MISSING_FIELD = re.compile(r"(?:(?<=,)|^)[ \t]*(?:\*|\?|[nN][aA][nN]|)[ \t]*(?=,|$)", re.M)


def read_table(path: str | Path) -> DataFile:
    """The data in a comma-separated or `.npy` file (see the module docstring)."""
    name = str(path)
    if name.lower().endswith(".npy"):
        return _read_npy(name)
    text = read_text(path)
    lines = text.splitlines()
    numbers = [n for n, line in enumerate(lines, 1) if line.strip()]
    header = None
    if numbers and _is_header(lines[numbers[0] - 1]):
        header = [t.strip() for t in lines[numbers[0] - 1].split(",")]
        numbers = numbers[1:]
    if not numbers:
        raise FormatError("no data rows", name)
    body = [lines[n - 1] for n in numbers]
    weights = None
    if any("|" in line for line in body):
        weights, body = _split_weights(name, body, numbers)
    widths = np.array([line.count(",") + 1 for line in body])
    if np.any(widths != widths[0]):
        bad = int(np.flatnonzero(widths != widths[0])[0])
        raise FormatError(f"row has {widths[bad]} columns but the first row has {widths[0]}",
                          name, numbers[bad])
    joined = _MISSING_FIELD.sub("nan", "\n".join(body))
    fields = joined.replace("\n", ",").split(",")
    try:
        values = np.array(fields, dtype=np.float64)
    except ValueError:
        _find_bad(name, body, numbers)
        raise
    values = values.reshape(len(body), int(widths[0]))
    return DataFile(name, values, weights, header, np.array(numbers))


def _is_header(line: str) -> bool:
    tokens = [t.strip() for t in line.split(",")]
    return all(t and not _is_number(t) and t.lower() not in MISSING for t in tokens)


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _split_weights(name: str, body: list[str], numbers: list[int]) -> tuple[np.ndarray, list[str]]:
    weights = np.empty(len(body))
    rest = []
    for i, line in enumerate(body):
        head, bar, tail = line.partition("|")
        if not bar:
            raise FormatError("this row has no 'weight|' prefix but others do", name, numbers[i], 1)
        try:
            weights[i] = float(head)
        except ValueError:
            raise FormatError(f"bad example weight {head.strip()!r} before '|'", name,
                              numbers[i], 1) from None
        if not np.isfinite(weights[i]) or weights[i] < 0:
            raise FormatError(f"an example weight must be finite and >= 0, got {head.strip()!r}",
                              name, numbers[i], 1)
        rest.append(tail)
    return weights, rest


def _find_bad(name: str, body: list[str], numbers: list[int]) -> None:
    for i, line in enumerate(body):
        col = 1
        for token in line.split(","):
            t = token.strip()
            if t.lower() not in MISSING and not _is_number(t):
                raise FormatError(f"not a number or a missing-value mark (*, ?, empty, nan): "
                                  f"{t!r}", name, numbers[i], col + len(token) - len(token.lstrip()))
            col += len(token) + 1


def _read_npy(name: str) -> DataFile:
    try:
        values = np.load(name, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise FormatError(f"cannot read the .npy file: {error}", name) from None
    if values.ndim != 2 or values.dtype.kind not in "biuf":
        raise FormatError(f"a .npy data file holds a 2-d numeric matrix, got {values.dtype} "
                          f"{values.shape}", name)
    return DataFile(name, values.astype(np.float64), None, None, np.arange(1, len(values) + 1))
