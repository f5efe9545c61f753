"""Convert a circuit file from one format to another.

The formats come from the file names (or --format for IN, --to for OUT): .pcc, .psdd (+ .vtree
written next to it), .jpc, .ac and .spn (read only), SPFlow text (.spn/.spflow; `spflow_eq` for
the equation form). The node-level formats (.jpc, SPFlow text, .psdd) hold one unit per node:
a circuit with wider groups (what `pcc train` writes: RAT, PD, QT, HCLT) is scalarized first,
and its report line printed. Writing fails with one line naming the property the target needs
and the node that lacks it (with the group and unit it was scalarized from).
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
    from pcc.frontends._text import not_representable
    from pcc.frontends.psdd_writer import check_psdd
    from pcc.io.formats import FORMATS, choose_format, save_circuit
    from pcc.transforms.scalarize import Scalarize, is_scalar

    target, _ = choose_format(args.out, args.to, writing=True, flag="--to")  # before the work
    circuit = read_circuit(args)
    vtree = read_vtree(args.vtree) if target == "psdd" and args.vtree else None
    checked = False
    if FORMATS[target].one_unit and not is_scalar(circuit):
        if target == "psdd":  # refusals name the groups and units of the circuit read
            vtree = not_representable(lambda: check_psdd(circuit, vtree), args.out, ".psdd")
            checked = True
        circuit, report = Scalarize()(circuit)
        print(report.text())
    options = {"vtree": vtree, "checked": checked} if target == "psdd" else {}
    save_circuit(circuit, args.out, target, **options)
    print(f"wrote {args.out} ({target}): {len(circuit)} groups, {circuit.num_vars} variables")
    return 0
