"""What every view shares: colours and glyphs per node kind, number and scope text, tooltips.

One table per concern so that the nodes, layers and blocks views draw a sum, a product or a leaf
the same way. All text is built from the IR alone, so the same circuit always gives the same DOT.
"""

from __future__ import annotations

from typing import Sequence

import graphviz
import numpy as np

from pcc.ir import Circuit, Group, Input, Sum
from pcc.analysis.report import format_scope

# fill colour per kind (light, so that black text and red check marks stay readable)
COLOURS: dict[str, str] = {"input": "#d9f2d9", "product": "#d6e6fa", "sum": "#fde2c4"}
# the usual PC glyphs: + for sums, x for products (a circled x for Kronecker products)
GLYPHS: dict[tuple[str, str], str] = {
    ("sum", "dense"): "+",
    ("sum", "mixing"): "+",
    ("product", "hadamard"): "×",
    ("product", "kronecker"): "⊗",
}
FONT = "Helvetica"
MARK = "#d62728"  # check marks: red for what makes a PC invalid
WARN = "#ff7f0e"  # orange for the rest (structured decomposability, normalization)
MAX_SCOPE_PARTS = 16  # runs shown in a scope before it is cut short
MAX_TOOLTIP_WEIGHTS = 12  # weights printed in a sum's tooltip


def escape(text: str) -> str:
    """`text` for a DOT string: a backslash would start an escape sequence (`\\n`, `\\l`)."""
    return text.replace("\\", "\\\\")


def new_graph(name: str, rankdir: str = "TB", **attrs: str) -> graphviz.Digraph:
    """A digraph with the house attributes; `attrs` are extra graph attributes."""
    graph = graphviz.Digraph(name=name, strict=False)
    graph.attr(rankdir=rankdir, fontname=FONT, **attrs)
    graph.attr("node", fontname=FONT, fontsize="11")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.5", color="#555555")
    return graph


def number(x: float, digits: int = 2) -> str:
    """`x` rounded to `digits` decimals without trailing zeros; tiny non-zeros keep 2
    significant digits so that a weight of 1e-5 does not print as 0."""
    x = float(x)
    if x != 0.0 and abs(x) < 10.0 ** -digits:
        return f"{x:.1e}"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def scope_text(mask: int) -> str:
    """`{0..3,7,9}`: runs of three or more variables collapse; long scopes are cut short."""
    return format_scope(mask, MAX_SCOPE_PARTS)


def kind_label(group: Group) -> str:
    """`sum dense`, `product kronecker`, `input gaussian`."""
    if isinstance(group, Input):
        return f"input {group.family}"
    return f"{group.kind} {group.mode}"  # type: ignore[union-attr]


def leaf_text(group: Input) -> str:
    """Family and variable, plus the value for a one-unit indicator (the usual `x3=1` leaf)."""
    if group.family == "indicator" and group.units == 1:
        return f"[x{group.var}={int(group.params['value'][0])}]"
    return f"{group.family}\\nx{group.var}"


def node_attrs(group: Group) -> dict[str, str]:
    """Shape, fill and label of `group` drawn as one node."""
    units = f"\\n[{group.units}]" if group.units > 1 else ""
    fill = {"style": "filled", "fillcolor": COLOURS[group.kind]}
    if isinstance(group, Input):
        return {"shape": "box", "style": "rounded,filled", "fillcolor": COLOURS["input"],
                "label": leaf_text(group) + units}
    glyph = GLYPHS[(group.kind, group.mode)]  # type: ignore[union-attr]
    if group.kind == "sum" and group.mode == "mixing":  # type: ignore[union-attr]
        fill["peripheries"] = "2"  # a mixing sum: a double circle
    return {"shape": "circle", "fixedsize": "false", "margin": "0.02",
            "fontsize": "14" if not units else "11", "label": glyph + units, **fill}


def tooltip(circuit: Circuit, group: Group) -> str:
    """What hovering over a node shows in an SVG: id, kind, units and scope (and weights)."""
    lines = [f"#{group.id} {kind_label(group)} [{group.units}]",
             f"scope {scope_text(circuit.scope_masks[group.id])}"]
    if isinstance(group, Sum):
        lines.append(f"weights {group.weights.shape[0]}x{group.weights.shape[1]}")
    if group.origin:
        lines.append(f"origin {escape(group.origin)}")
    return "\\n".join(lines)


def child_slices(group: Sum, circuit: Circuit) -> list[tuple[int, np.ndarray]]:
    """Each child of a sum with the columns of its weights that belong to that child."""
    if group.mode == "mixing":
        return [(c, group.weights[:, [i]]) for i, c in enumerate(group.children)]
    out = []
    offset = 0
    for c in group.children:
        units = circuit.groups[c].units
        out.append((c, group.weights[:, offset:offset + units]))
        offset += units
    return out


def weight_label(weights: np.ndarray, digits: int = 2) -> str:
    """The edge label of one child's weights (units x child columns): the number for one weight,
    a short list for a few, the shape otherwise. Identical rows (a mixing sum's usual shared
    weights) count as one row."""
    if weights.shape[0] > 1 and np.all(weights == weights[0]):
        weights = weights[:1]
    if weights.size == 1:
        return number(weights.flat[0], digits)
    if weights.shape[0] == 1 and weights.size <= 3:
        return "[" + ", ".join(number(w, digits) for w in weights.ravel()) + "]"
    return f"{weights.shape[0]}x{weights.shape[1]}"  # the tooltip lists the first weights


def weight_tooltip(parent: int, child: int, weights: np.ndarray, digits: int = 3) -> str:
    shown = ", ".join(number(w, digits) for w in weights.ravel()[:MAX_TOOLTIP_WEIGHTS])
    more = " ..." if weights.size > MAX_TOOLTIP_WEIGHTS else ""
    return f"#{parent} -> #{child} weights {weights.shape[0]}x{weights.shape[1]}: {shown}{more}"


def count_text(counts: Sequence[tuple[str, int]]) -> str:
    """`3 sums, 1 product` from (noun, count) pairs, skipping zeros; plural by appending s."""
    return ", ".join(f"{n} {noun}{'s' if n != 1 else ''}" for noun, n in counts if n)
