"""Transform a circuit: apply passes in order and write the result.

    pcc transform IN -o OUT --passes prune,smooth,normalize,vectorize

Passes: prune, smooth, normalize, vectorize, binarize, condition:VAR=VALUE:..., marginalize:
VAR:... (see pcc.transforms). Prints one report line per pass (--json: one object). Exit
status 2, with a one-line error, for an unknown pass or one that cannot apply (e.g. smooth on a
circuit that is not decomposable names the product).
"""

from __future__ import annotations

import argparse
import json

from pcc.cli.common import add_circuit_arguments, read_circuit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="the file to write (its format from its name, or --to)")
    parser.add_argument("--to", default=None, metavar="F", help="OUT's format")
    parser.add_argument("--passes", required=True, metavar="P1,P2,...",
                        help="the passes to apply, in order")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")


def run(args: argparse.Namespace) -> int:
    from pcc.io.formats import choose_format, save_circuit
    from pcc.transforms import apply_passes, get_pass

    names = [n for n in args.passes.split(",") if n.strip()]
    for name in names:  # refuse an unknown pass before reading the file
        get_pass(name)
    circuit = read_circuit(args)
    target, _ = choose_format(args.output, args.to, writing=True)
    result, reports = apply_passes(circuit, names)
    save_circuit(result, args.output, target)
    if args.json:
        print(json.dumps({"input": args.file, "output": args.output,
                          "groups_before": len(circuit), "groups_after": len(result),
                          "passes": [r.to_json() for r in reports]}, indent=1))
    else:
        for report in reports:
            print(report.text())
        print(f"wrote {args.output} ({target}): {len(result)} groups, {result.num_units} units, "
              f"{result.num_vars} variables")
    return 0
