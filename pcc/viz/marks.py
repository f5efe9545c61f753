"""Check marks: the nodes and edges a check report names, drawn in red, the violation as tooltip.

A violation names a node and the children involved (see `pcc.analysis.report.Violation`); the
node is marked, and so is every edge from it to a named child. Violations that make a circuit an
invalid PC (smoothness, decomposability) are red; the others (structured decomposability,
normalization) orange, so that a valid but unstructured circuit does not look broken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from pcc.viz import style

INVALID = ("smoothness", "decomposability")


class ViolationLike(Protocol):
    property: str
    node: int
    children: tuple[int, ...]
    message: str


@dataclass
class Marks:
    """Messages per marked node id and per marked (parent, child) edge, in report order."""

    nodes: dict[int, list[str]] = field(default_factory=dict)
    edges: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    invalid: set[int] = field(default_factory=set)  # nodes with a red (validity) violation

    @staticmethod
    def from_violations(violations: Iterable[ViolationLike]) -> Marks:
        marks = Marks()
        for v in violations:
            marks.nodes.setdefault(v.node, []).append(v.message)
            if v.property in INVALID:
                marks.invalid.add(v.node)
            for child in v.children:
                marks.edges.setdefault((v.node, child), []).append(v.message)
        return marks

    @staticmethod
    def from_report(report: object) -> Marks:
        """The marks of a `pcc.analysis.Report` (its `violations`)."""
        return Marks.from_violations(report.violations)  # type: ignore[attr-defined]

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def mark_node(self, id: int, attrs: dict[str, str]) -> None:
        """Turn `attrs` (a node's) red and put its violations first in its tooltip."""
        if id in self.nodes:
            mark(attrs, self.nodes[id], id in self.invalid)

    def mark_edge(self, parent: int, child: int, attrs: dict[str, str]) -> None:
        if (parent, child) in self.edges:
            mark(attrs, self.edges[(parent, child)], parent in self.invalid)

    def messages_in(self, ids: Iterable[int]) -> list[str]:
        """The messages of every marked node among `ids` (for views that draw groups of nodes)."""
        return [m for i in ids for m in self.nodes.get(i, ())]


def mark(attrs: dict[str, str], messages: list[str], invalid: bool = True) -> None:
    """Colour `attrs` (a node's or an edge's) and put `messages` first in its tooltip."""
    colour = style.MARK if invalid else style.WARN
    attrs["color"] = colour
    attrs["fontcolor"] = colour
    attrs["penwidth"] = "2.5"
    text = "\\n".join(style.escape(m) for m in messages)
    old = attrs.get("tooltip")
    attrs["tooltip"] = text + ("\\n" + old if old else "")
    # the class survives into the SVG (`class="node violation"`): tests and scripts find marks
    attrs["class"] = "violation" if invalid else "warning"
