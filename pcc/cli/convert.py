"""Convert a circuit file from one format to another.

The formats come from the file names (or --format for IN, --to for OUT): .pcc, .psdd (+ .vtree
written next to it), .jpc, .ac and .spn (read only), SPFlow text (.spn/.spflow; `spflow_eq` for
the equation form). Writing fails with a clear error when OUT's format cannot hold the circuit.
"""

from __future__ import annotations

import argparse

from pcc.cli.common import add_circuit_arguments, read_circuit, read_vtree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("out", metavar="OUT", help="the file to write")
    parser.add_argument("--to", default=None, metavar="F",
                        help="OUT's format (default: from its name)")
    parser.add_argument("--vtree", metavar="FILE",
                        help="a .vtree (or JSON) vtree: checked against a .psdd input, and used "
                             "for a .psdd output (default: the vtree the circuit implies)")


def run(args: argparse.Namespace) -> int:
    from pcc.io.formats import choose_format, save_circuit

    circuit = read_circuit(args)
    target, _ = choose_format(args.out, args.to, writing=True)
    options = {}
    if target == "psdd" and args.vtree:
        options["vtree"] = read_vtree(args.vtree)
    save_circuit(circuit, args.out, target, **options)
    print(f"wrote {args.out} ({target}): {len(circuit)} groups, {circuit.num_vars} variables")
    return 0
