"""Draw a circuit, its layered plan, or a region graph with graphviz.

The output format comes from the name given to -o: .svg, .png and .pdf run the graphviz `dot`
program; .dot (or .gv) writes the DOT text and needs nothing else.

Views: nodes (every group: sums, products, leaves; weights on sum edges; scopes as SVG tooltips),
layers (the compiler's plan: one cluster per layer, one box per block, the groups inside; for a
circuit too large for that, the layers summary: one row per depth, one box per block, edges
counted between blocks of adjacent depths), blocks (one box per block, at most 40 boxes),
regions (FILE is a region graph, the JSON file that `pcc.regions.RegionGraph.save` writes).
Without --view: nodes for circuits of at most 400 groups and 800 edges, the layers summary
otherwise; a nodes or layers view of a larger circuit switches to the summary and says so. --check marks what `pcc check` reports in red (orange for structured
decomposability and normalization), with the violation as tooltip.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from pcc.cli.common import add_circuit_arguments, read_circuit
from pcc.ir import FormatError

if TYPE_CHECKING:
    from pcc.regions import RegionGraph


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_circuit_arguments(parser)
    parser.add_argument("-o", "--out", required=True, metavar="OUT",
                        help="the picture to write: OUT.svg, OUT.png, OUT.pdf or OUT.dot")
    parser.add_argument("--view", choices=("nodes", "layers", "blocks", "regions"),
                        default=None,
                        help="what to draw (default: nodes, or the layers summary when large)")
    parser.add_argument("--check", action="store_true",
                        help="mark the nodes and edges that `pcc check` reports")
    parser.add_argument("--digits", type=int, default=2, help="decimals of sum weights")
    parser.add_argument("--padding", type=float, default=None,
                        help="the layering's padding budget (layers and blocks views)")


def run(args: argparse.Namespace) -> int:
    from pcc.viz import draw, regions_view
    from pcc.viz.render import VizError, check_can_write, write

    check_can_write(args.out)  # before any work: a bad name or a missing `dot` fails fast
    if not 0 <= args.digits <= 12:
        raise VizError(f"--digits must be between 0 and 12, got {args.digits}")
    if args.padding is not None and not 0 <= args.padding < 1:
        raise VizError(f"--padding is a share of padded slots in [0, 1), got {args.padding}")
    if args.view == "regions":
        if args.check:
            raise VizError("--check marks circuits; a region graph has nothing to check")
        graph = regions_view(read_region_graph(args.file))
        what = "regions view"
    else:
        circuit = read_circuit(args)
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            graph = draw(circuit, view=args.view, check=args.check, digits=args.digits,
                         padding=args.padding)
        for note in notes:
            print(f"pcc viz: {note.message}", file=sys.stderr)
        what = f"{graph.name.replace('_', ' ')} view of {len(circuit)} groups"
    write(graph, args.out)
    print(f"wrote {args.out} ({what})")
    return 0


def read_region_graph(path: str) -> RegionGraph:
    """The region graph in the JSON file `path`; anything else is a one-line `VizError`."""
    from pcc.regions import RegionGraph
    from pcc.viz.render import VizError

    hint = "--view regions reads a region graph: the JSON file RegionGraph.save writes"
    if not Path(path).is_file():
        raise VizError(f"{path}: no such file")
    try:
        return RegionGraph.load(path)
    except FormatError as error:
        raise VizError(f"{error}; {hint}") from None
