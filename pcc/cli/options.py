"""Checked option types for the commands' parsers: a bad value is one argparse error line
(`pcc eval: error: argument --batch-size: must be an integer >= 1, got '-3'`, exit 2) before
any file is read, instead of a traceback or a silent misreading later.

    parser.add_argument("--batch-size", type=int_at_least(1), ...)
    parser.add_argument("-o", "--out", type=output_file, ...)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

# numpy's and torch's generators both take seeds in [0, 2^63): outside it, one a traceback
# (numpy: negative; torch: overflow), so the CLI refuses them up front
MAX_SEED = 2**63 - 1
# --per-example: the file's suffix picks how the values are written
PER_EXAMPLE_FORMATS = {".npy": "npy", ".txt": "text", ".csv": "text"}


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    return parse


def seed(text: str) -> int:
    """An argparse type: a random seed, an integer in [0, 2^63)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2^63-1, got {text!r}")
    return value


def output_file(text: str) -> str:
    """An argparse type: a file the command can create, checked before any work (its folder
    exists and is a folder; the name itself is not a folder)."""
    path = Path(text)
    folder = path.parent
    if text == "" or path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: it is a folder, "
                                         "expected a file name")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {text}: folder {folder} {what}")
    return text


def output_folder(text: str) -> str:
    """An argparse type: a folder to write into (made later if missing), not an existing
    file."""
    path = Path(text)
    if text == "" or (path.exists() and not path.is_dir()):
        raise argparse.ArgumentTypeError(f"cannot write into {text!r}: it is a file, expected "
                                         "a folder")
    return text


def per_example_file(text: str) -> str:
    """An argparse type: `--per-example` OUT, a writable name ending in .npy (binary float64)
    or .txt/.csv (text, one value a line); other names are refused rather than renamed."""
    if Path(text).suffix.lower() not in PER_EXAMPLE_FORMATS:
        raise argparse.ArgumentTypeError(
            f"cannot tell how to write {text!r}: name it OUT.npy (numpy float64) or OUT.txt / "
            "OUT.csv (text, one log-likelihood a line)")
    return output_file(text)
