"""Transform a circuit: apply passes in order and write the result.

    pcc transform IN -o OUT --passes prune,smooth,normalize,vectorize

Passes: prune, smooth, normalize, vectorize, binarize, scalarize, condition:VAR=VALUE:...,
marginalize:VAR:... (see pcc.transforms). Prints one report line per pass (--json: one
object). Exit status 2, with a one-line error, for an unknown pass or one that cannot apply
(e.g. smooth on a circuit that is not decomposable names the product).

condition and marginalize renumber the variables that remain (in order); a last line gives
the whole renumbering (`variables renumbered (old -> new): x0 -> x0, x2..x9 -> x1..x8;
removed: x1`), --json gives it as "kept" (new x_i is old x_kept[i]), and a .pcc output keeps
it in its header's metadata, so that the columns of the original data can be selected.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from pcc.cli.common import add_circuit_arguments, read_circuit
from pcc.cli.options import output_file

if TYPE_CHECKING:
    from pcc.transforms import PassReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", type=output_file,
                        help="the file to write (its format from its name, or --to)")
    parser.add_argument("--to", default=None, metavar="F", help="OUT's format")
    parser.add_argument("--passes", required=True, metavar="P1,P2,...", type=pass_list,
                        help="the passes to apply, in order")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")


def run(args: argparse.Namespace) -> int:
    from pcc.io.formats import choose_format, save_circuit
    from pcc.transforms import apply_passes, get_pass

    names = [n for n in args.passes.split(",") if n.strip()]
    for name in names:  # refuse an unknown pass before reading the file
        get_pass(name)
    target, _ = choose_format(args.output, args.to, writing=True, flag="--to")  # before the work
    circuit = read_circuit(args)
    result, reports = apply_passes(circuit, names)
    kept = kept_variables(circuit.num_vars, reports)
    renumbered = kept != list(range(circuit.num_vars))
    save_circuit(result, args.output, target,
                 **({"metadata": {"kept_variables": kept}} if renumbered and target == "pcc"
                    else {}))
    if args.json:
        print(json.dumps({"input": args.file, "output": args.output,
                          "groups_before": len(circuit), "groups_after": len(result),
                          "passes": [r.to_json() for r in reports],
                          "kept": kept}, indent=1))
    else:
        for report in reports:
            print(report.text())
        if renumbered:
            print(format_renumbering(circuit.num_vars, kept))
        print(f"wrote {args.output} ({target}): {len(result)} groups, {result.num_units} units, "
              f"{result.num_vars} variables")
    return 0


def pass_list(text: str) -> str:
    """An argparse type: at least one pass name (an empty list would copy the file silently)."""
    if not [n for n in text.split(",") if n.strip()]:
        raise argparse.ArgumentTypeError("no pass given; e.g. --passes prune,smooth")
    return text


def kept_variables(num_vars: int, reports: list[PassReport]) -> list[int]:
    """The input's ids of the output's variables (new x_i is old x_kept[i]): each condition or
    marginalize report's `kept` composed over the passes in order."""
    kept = list(range(num_vars))
    for report in reports:
        step = getattr(report, "kept", None)
        if step is not None:
            kept = [kept[v] for v in step]
    return kept


def format_renumbering(num_vars: int, kept: list[int]) -> str:
    """`variables renumbered (old -> new): x0 -> x0, x2..x9 -> x1..x8; removed: x1`: runs of
    consecutive ids, so that a circuit of hundreds of variables gets a short line."""
    runs, new = [], 0
    for first, last in _ranges(kept):
        runs.append(f"{_span(first, last)} -> {_span(new, new + last - first)}")
        new += last - first + 1
    removed = sorted(set(range(num_vars)) - set(kept))
    return (f"variables renumbered (old -> new): {', '.join(runs)}; "
            f"removed: {', '.join(_span(a, b) for a, b in _ranges(removed))}")


def _span(first: int, last: int) -> str:
    return f"x{first}" if first == last else f"x{first}..x{last}"


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    """Ascending ids as runs of consecutive ones: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    out: list[tuple[int, int]] = []
    for v in ids:
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out
