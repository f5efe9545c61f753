"""Arguments and reading shared by the commands that take a circuit file (check, info, eval,
convert, viz): `add_circuit_arguments(parser)` and `read_circuit(args)`; also `read_vtree`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pcc.ir import Circuit, FormatError, PccError, Vtree


def add_circuit_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE and `--format` (one of `pcc.io.FORMATS`, a fixed table)."""
    from pcc.io import FORMATS

    parser.add_argument("file", metavar="FILE", help="the circuit file")
    parser.add_argument("--format", choices=list(FORMATS), default=None,
                        help="the file's format (default: from its name)")


def read_circuit(args: argparse.Namespace) -> Circuit:
    """The circuit named by `args.file` in `args.format`; bad input raises a PccError."""
    from pcc.io import load_circuit
    from pcc.io.formats import choose_format

    options = {}
    vtree = getattr(args, "vtree", None)
    if vtree and _ucla_vtree(vtree) and choose_format(args.file, args.format)[0] == "psdd":
        options["vtree"] = vtree  # the PSDD reader checks every node's vtree id against it
    return load_circuit(args.file, format=args.format, **options)


def budget_of(args: argparse.Namespace) -> int:
    """`--determinism-budget` (default: the analysis' own); a negative value is misuse."""
    from pcc.analysis.determinism import BUDGET

    budget = getattr(args, "determinism_budget", None)
    if budget is None:
        return BUDGET
    if budget < 0:
        raise UsageError(f"--determinism-budget must be >= 0, got {budget}")
    return int(budget)


class UsageError(PccError):
    """A command was given an argument it cannot use (exit status 2, like bad input)."""


def read_vtree(path: str) -> Vtree:
    """A vtree from a JSON file of nested pairs of variable indices, e.g. `[[0, 1], [2, 3]]`,
    or from a UCLA `.vtree` file (1-based variables there, 0-based in pcc)."""
    if path.lower().endswith(".vtree") or (not path.lower().endswith(".json")
                                           and _ucla_vtree(path)):
        from pcc.frontends.vtree_file import load_vtree

        return load_vtree(path)
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise FormatError(f"cannot read the vtree ({error.strerror or error})", path) from None
    except UnicodeDecodeError:  # the UCLA reader names the line and column of the bad byte
        from pcc.frontends._text import read_text

        read_text(path)
        raise
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as error:
        raise FormatError(f"not a JSON vtree: {error.msg}", path, error.lineno,
                          error.colno) from None
    except RecursionError:
        raise FormatError("the vtree is nested too deeply for JSON", path) from None
    if not _well_nested(tree):
        raise FormatError("a vtree is nested pairs of non-negative variable indices, "
                          "e.g. [[0, 1], [2, 3]]", path)
    try:
        return Vtree.from_nested(tree)
    except (ValueError, RecursionError) as error:
        raise FormatError(f"invalid vtree: {error}", path) from None


def _well_nested(tree: object) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            if len(node) != 2:
                return False
            stack += node
        elif not (isinstance(node, int) and not isinstance(node, bool) and node >= 0):
            return False
    return True


def _ucla_vtree(path: str) -> bool:
    """Does the file start like a UCLA .vtree (a `c` comment or the `vtree N` header)?"""
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    return head.startswith((b"c", b"vtree"))
