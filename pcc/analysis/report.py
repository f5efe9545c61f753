"""`Violation` and `Report`: what every analysis returns, its text form and its JSON form.

An analysis fills only the fields it decides (the others stay `None`); `Report.merge` combines
them. The JSON object (`Report.to_json`) has these keys, each present even when `null`:

    valid                      bool: smooth and decomposable (a valid PC); null if not analyzed
    smooth                     bool
    decomposable               bool
    structured_decomposable    bool
    vtree                      nested pairs of variables, e.g. [[0, 1], 2]: the given vtree,
                               or the implied one; null when there is none
    vtree_source               "given" | "implied" | null
    deterministic              "yes" | "unknown" (a sound check: "unknown" is not "no")
    determinism_unproved       {"node", "kind", "message"}: the first sum not proved; or null
    normalized                 bool: sum weights and input parameters normalized per unit
    violations                 list of {"property", "node", "kind", "children", "scopes",
                               "message"}; property is one of "smoothness", "decomposability",
                               "structured-decomposability", "normalization"; scopes are
                               sorted variable lists, one per child named
    stats                      the statistics object of `pcc.analysis.stats` (or null)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from pcc.ir.circuit import mask_to_vars
from pcc.ir.text import format_scope  # re-exported: the one scope text of pcc
from pcc.ir.vtree import Vtree

MAX_VTREE_TEXT = 120


@dataclass(frozen=True)
class Violation:
    """One node that breaks one property: its id and kind, the children involved and their
    scopes (bitmasks), and a message naming all of them."""

    property: str
    node: int
    kind: str
    children: tuple[int, ...]
    scopes: tuple[int, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"property": self.property, "node": self.node, "kind": self.kind,
                "children": list(self.children),
                "scopes": [list(mask_to_vars(m)) for m in self.scopes],
                "message": self.message}


@dataclass(frozen=True)
class Unproved:
    """The first sum that the determinism check could not prove deterministic, and why."""

    node: int
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Report:
    """Properties of a circuit; `None` means "not analyzed". Violations are in node order
    within each analysis."""

    smooth: bool | None = None
    decomposable: bool | None = None
    structured_decomposable: bool | None = None
    vtree: Vtree | None = None
    vtree_source: str | None = None
    deterministic: str | None = None
    determinism_unproved: Unproved | None = None
    normalized: bool | None = None
    violations: tuple[Violation, ...] = ()
    stats: dict[str, Any] | None = field(default=None)

    @property
    def valid(self) -> bool | None:
        """A valid PC: smooth and decomposable (None when either was not analyzed)."""
        if self.smooth is None or self.decomposable is None:
            return None
        return self.smooth and self.decomposable

    def merge(self, other: Report) -> Report:
        """The fields set in either report (`other` wins where both are set); violations of both."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if f.name != "violations" and getattr(other, f.name) is not None}
        return replace(self, violations=self.violations + other.violations, **changes)

    def of(self, property: str) -> list[Violation]:
        return [v for v in self.violations if v.property == property]

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "smooth": self.smooth,
            "decomposable": self.decomposable,
            "structured_decomposable": self.structured_decomposable,
            "vtree": vtree_nested(self.vtree) if self.vtree is not None else None,
            "vtree_source": self.vtree_source,
            "deterministic": self.deterministic,
            "determinism_unproved": (self.determinism_unproved.to_json()
                                     if self.determinism_unproved else None),
            "normalized": self.normalized,
            "violations": [v.to_json() for v in self.violations],
            "stats": self.stats,
        }


def vtree_nested(vtree: Vtree) -> object:
    """Nested lists of variables, built without recursion (vtrees can be thousands deep)."""
    built: list[object] = []
    for i in range(len(vtree.var)):
        built.append(vtree.var[i] if vtree.var[i] >= 0
                     else [built[vtree.left[i]], built[vtree.right[i]]])
    return built[-1]


def _yes_no(value: bool | None, count: int) -> str:
    if value is None:
        return "not analyzed"
    return "yes" if value else f"no ({count} violation{'s' if count != 1 else ''})"


def vtree_text(vtree: Vtree) -> str:
    """`((0,1),2)`, built without recursion."""
    built: list[str] = []
    for i in range(len(vtree.var)):
        built.append(str(vtree.var[i]) if vtree.var[i] >= 0
                     else f"({built[vtree.left[i]]},{built[vtree.right[i]]})")
    return built[-1]


def format_report(report: Report, list_violations: bool = True) -> str:
    """The printed form: one line per property, then (with `list_violations`) every
    violation, one per line."""
    lines = []
    rows = [("smooth", report.smooth, "smoothness"),
            ("decomposable", report.decomposable, "decomposability"),
            ("structured-decomposable", report.structured_decomposable,
             "structured-decomposability"),
            ("normalized", report.normalized, "normalization")]
    for label, value, property in rows:
        if value is None:
            continue
        text = _yes_no(value, len(report.of(property)))
        if property == "structured-decomposability" and value is False \
                and not report.of(property) and report.decomposable is False:
            text = "no (the circuit is not decomposable)"
        if property == "structured-decomposability" and report.vtree is not None:
            shown = vtree_text(report.vtree)
            if len(shown) > MAX_VTREE_TEXT:  # hundreds of variables: not one line of text
                leaves = sum(1 for v in report.vtree.var if v >= 0)
                shown = f"over {leaves} variables (--json prints it)"
            text += f", {report.vtree_source} vtree {shown}"
        lines.append(f"{label}: {text}")
    if report.deterministic is not None:
        text = report.deterministic
        if report.determinism_unproved is not None:
            text += f" ({report.determinism_unproved.message})"
        lines.append(f"deterministic: {text}")
    if report.valid is not None:
        lines.append(f"valid PC (smooth and decomposable): {'yes' if report.valid else 'no'}")
    if report.violations and list_violations:
        lines.append(f"violations ({len(report.violations)}):")
        lines += [f"  {v.message}" for v in report.violations]
    return "\n".join(lines)
