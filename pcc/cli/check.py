"""Check that a circuit is a valid PC and list every violation.

Prints one line per property (smooth, decomposable, structured-decomposable, normalized,
deterministic) and then every violation, each naming the node, its children and their scopes.
Exit status: 0 when the circuit is smooth and decomposable, 1 when it is not, 2 when the input
cannot be read. With --json, prints the report object documented in docs/cli.md.

--fix -o OUT repairs what the passes can (prune; smooth and normalize where needed) and writes
OUT only when the result is a valid PC; a circuit that is not decomposable cannot be repaired:
exit 1, with one line on stderr naming the node, and nothing written.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Sequence

from pcc.cli.common import (UsageError, add_circuit_arguments, budget_of, read_circuit,
                             read_vtree)
from pcc.cli.options import int_at_least, output_file

if TYPE_CHECKING:
    from pcc.analysis import Violation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("--determinism-budget", type=int_at_least(0), default=None,
                        metavar="STEPS",
                        help="steps the determinism proof may take before it answers "
                             "'unknown' (default: 1000000, a few seconds)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--vtree", metavar="FILE",
                        help="check structured decomposability against this vtree (a UCLA "
                             ".vtree file, or a JSON file of nested pairs of 0-based "
                             "variables, e.g. [[0, 1], 2]) instead of finding one")
    parser.add_argument("--fix", action="store_true",
                        help="repair what the passes can (prune, then smooth and normalize "
                             "where needed; see pcc transform) and write the result to -o")
    parser.add_argument("-o", "--output", metavar="OUT", type=output_file,
                        help="where --fix writes the circuit")


def run(args: argparse.Namespace) -> int:
    from pcc.analysis import check, format_report

    if getattr(args, "fix", False) and not args.output:
        raise UsageError("--fix needs -o OUT, the file to write the repaired circuit to")
    if getattr(args, "fix", False):
        from pcc.io.formats import choose_format

        choose_format(args.output, None, writing=True)  # a name pcc cannot write: before work
    circuit = read_circuit(args)
    vtree = read_vtree(args.vtree) if args.vtree else None
    report = check(circuit, vtree=vtree, determinism_budget=budget_of(args))
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print(f"{args.file}: {len(circuit)} groups, {circuit.num_units} units, "
              f"{circuit.num_vars} variables")
        print(format_report(report))
    if getattr(args, "fix", False):
        return _fix(args, circuit, report)
    return 0 if report.valid else 1


def _fix(args: argparse.Namespace, circuit, report) -> int:  # type: ignore[no-untyped-def]
    """`--fix`: sugar for `pcc transform --passes prune[,smooth][,normalize]`. Writes only a
    valid PC: 1 with one line on stderr (naming the node) where no pass repairs it."""
    import sys

    from pcc.analysis import decomposability, smoothness
    from pcc.io.formats import choose_format, save_circuit
    from pcc.transforms import apply_passes

    if report.decomposable is False:  # smoothing needs decomposable products; nothing fixes them
        print(_cannot_fix(args, report.of("decomposability"), "no pass repairs decomposability"),
              file=sys.stderr)
        return 1
    # after smooth the one-valued factors make the circuit unnormalized: normalize then too
    passes = ["prune"] + ["smooth"] * (not report.smooth) + \
        ["normalize"] * (not (report.normalized and report.smooth))
    fixed, reports = apply_passes(circuit, passes)
    left = smoothness(fixed).merge(decomposability(fixed))
    if not left.valid:  # the passes promise a valid PC; never write one that is not
        print(_cannot_fix(args, left.violations, "the repaired circuit is still invalid"),
              file=sys.stderr)
        return 1
    target, _ = choose_format(args.output, None, writing=True)
    save_circuit(fixed, args.output, target)
    if not args.json:
        for line in reports:
            print(f"fix: {line.text()}")
        print(f"wrote {args.output} ({target}): {len(fixed)} groups")
    return 0


def _cannot_fix(args: argparse.Namespace, violations: Sequence[Violation], why: str) -> str:
    """`pcc check: cannot fix F: product #3 is not decomposable: ... (and 1 more); why;
    nothing written to OUT`."""
    more = len(violations) - 1
    extra = f" (and {more} more violation{'s' * (more > 1)})" if more else ""
    return (f"pcc check: cannot fix {args.file}: {violations[0].message}{extra}; {why}; "
            f"nothing written to {args.output}")
