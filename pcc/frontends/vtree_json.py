"""Vtrees as JSON: nested pairs of 0-based variable indices, e.g. `[[0, 1], [2, 3]]`; and
`load_any_vtree`, which reads that or a UCLA `.vtree` file (`pcc.frontends.vtree_file`),
told apart by the first bytes (the CLI's `--vtree FILE`)."""

from __future__ import annotations

import json
from pathlib import Path

from pcc.frontends._text import MAX_VARIABLES, decode, gunzip, head_text
from pcc.ir import FormatError, Vtree


def load_any_vtree(path: str | Path) -> Vtree:
    """A vtree from a JSON file, or from a UCLA `.vtree` file (1-based variables there,
    0-based in pcc); a `.json` name is always read as JSON."""
    if not str(path).lower().endswith(".json") and is_ucla_vtree(path):
        from pcc.frontends.vtree_file import load_vtree

        return load_vtree(path)
    return load_vtree_json(path)


def load_vtree_json(path: str | Path) -> Vtree:
    """The vtree of a JSON file of nested pairs (gzipped or not); FormatError names the file
    (and the line and column of a JSON syntax error or of a byte that is not UTF-8)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise FormatError(f"cannot read the vtree ({error.strerror or error})", str(path)) from None
    if not raw.strip():
        raise FormatError("empty vtree file (expected a UCLA 'vtree N' header or JSON nested "
                          "pairs)", str(path))
    text = decode(gunzip(raw, path), path)  # gzipped like every pcc text input, then UTF-8
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as error:
        raise FormatError(f"not a JSON vtree: {error.msg}", str(path), error.lineno,
                          error.colno) from None
    except RecursionError:
        raise FormatError("the vtree is nested too deeply for JSON", str(path)) from None
    except ValueError:  # Python's limit on the digits of an int (4300)
        raise FormatError("a number in the vtree is too long", str(path)) from None
    if not _well_nested(tree):
        raise FormatError("a vtree is nested pairs of non-negative variable indices, "
                          f"each < {MAX_VARIABLES}, e.g. [[0, 1], [2, 3]]", str(path))
    try:
        return Vtree.from_nested(tree)
    except (ValueError, RecursionError) as error:
        raise FormatError(f"invalid vtree: {error}", str(path)) from None


def is_ucla_vtree(path: str | Path) -> bool:
    """Does the file start like a UCLA .vtree (a `c` comment or the `vtree N` header), once
    decompressed if it is gzipped?"""
    head = head_text(Path(path), 64)
    return head is not None and head.lstrip().startswith(("c", "vtree"))


def _well_nested(tree: object) -> bool:
    """Pairs all the way down to ints in 0..MAX_VARIABLES-1 (checked without recursion: a deep
    list is an error message, not a RecursionError; a huge index is not a huge allocation)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            if len(node) != 2:
                return False
            stack += node
        elif not (isinstance(node, int) and not isinstance(node, bool)
                  and 0 <= node < MAX_VARIABLES):
            return False
    return True
