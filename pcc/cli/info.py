"""Describe a circuit: its statistics and its properties.

Prints the numbers of groups and units per kind, modes, families, edges, parameters, depth,
fan-in and variables, then the same property lines as `pcc check` (without the list of
violations; run `pcc check` for those). With --json, prints the check report object with its
"stats" filled (see docs/cli.md). Exit status 0, or 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import json

from pcc.cli.common import add_circuit_arguments, budget_of, read_circuit
from pcc.cli.options import int_at_least


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("--determinism-budget", type=int_at_least(0), default=None,
                        metavar="STEPS",
                        help="steps the determinism proof may take before it answers "
                             "'unknown' (default: 1000000, a few seconds)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.add_argument("--layers", action="store_true",
                        help="print the layered plan instead: per block its op, groups, units, "
                             "fan-in and padding share")


def run(args: argparse.Namespace) -> int:
    from pcc.analysis import check, format_report, format_stats

    circuit = read_circuit(args)
    if args.layers:
        from pcc.layering import format_plan, layer

        print(format_plan(layer(circuit)))
        return 0
    report = check(circuit, determinism_budget=budget_of(args))
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        return 0
    print(f"{args.file}")
    print(format_stats(report.stats or {}))
    print(format_report(report, list_violations=False))
    if report.violations:
        print(f"violations: {len(report.violations)} (run `pcc check` to list them)")
    print(engine_line())
    return 0


def engine_line() -> str:
    """Which engine `pcc eval` / `pcc train` run on the CPU by default, and why."""
    from pcc.backends.native.library import kernel

    if kernel() is not None:
        return ("engine: native on the CPU (runtime-built C: forward, backward by flows, EM); "
                "--engine torch runs torch ops")
    return "engine: torch (no C compiler found for the native engine: install cc)"
