"""smooth: every child of a sum gets the sum's scope. A child missing variables V is replaced
by kronecker(child, one_v for v in V), where one_v is a categorical input whose probabilities
are all 1: its value is 1 on every value of v, and 1 when v is missing (marginalized), so the
circuit's value on every complete or partial assignment is unchanged. Such a factor exists for
finite domains only (binary, categorical): a sum whose child misses a count or real variable
is refused, and so is a circuit that is not decomposable (smoothing cannot repair that).
Run `normalize` after it for a normalized circuit (the factors become uniform distributions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.analysis import decomposability
from pcc.ir import Circuit, Sum, mask_to_vars
from pcc.transforms.base import Emitter, PassReport, TransformError, node_name


@dataclass(frozen=True)
class SmoothReport(PassReport):
    groups_before: int
    groups_after: int
    sums_fixed: int       # sums whose children's scopes differed
    children_fixed: int   # child edges completed with factors
    factors: int          # one-valued inputs added (one per variable that needed one)

    name: ClassVar[str] = "smooth"

    def text(self) -> str:
        if not self.sums_fixed:
            return f"smooth: already smooth ({self.groups_after} groups)"
        return (f"smooth: {self.sums_fixed} sums completed ({self.children_fixed} children, "
                f"{self.factors} one-valued factors), {self.groups_before} -> "
                f"{self.groups_after} groups")


@dataclass(frozen=True)
class Smooth:
    name: ClassVar[str] = "smooth"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, SmoothReport]:
        masks = circuit.scope_masks
        report = decomposability(circuit)
        if report.violations:
            raise TransformError(f"smooth: cannot apply: {report.violations[0].message} "
                                 "(smoothing cannot repair decomposability)")
        rough = [g for g in circuit.groups if isinstance(g, Sum)
                 and any(masks[c] != masks[g.id] for c in g.children)]
        if not rough:
            n = len(circuit)
            return circuit, SmoothReport(n, n, 0, 0, 0)
        out = Emitter(circuit.domains)
        new_id: list[int] = []
        ones: dict[int, int] = {}        # variable -> its one-valued input
        completed: dict[tuple[int, int], int] = {}
        fixed = 0
        for g in circuit.groups:
            kids = [new_id[c] for c in g.children]
            if isinstance(g, Sum) and any(masks[c] != masks[g.id] for c in g.children):
                for i, c in enumerate(g.children):
                    missing = masks[g.id] & ~masks[c]
                    if not missing:
                        continue
                    fixed += 1
                    key = (c, missing)
                    if key not in completed:
                        factors = [self._one(circuit, out, ones, g, c, v)
                                   for v in mask_to_vars(missing)]
                        completed[key] = out.product([kids[i]] + factors, "kronecker",
                                                     g.origin)
                    kids[i] = completed[key]
            new_id.append(out.copy(g, kids))
        result = out.build()
        return result, SmoothReport(len(circuit), len(result), len(rough), fixed, len(ones))

    @staticmethod
    def _one(circuit: Circuit, out: Emitter, ones: dict[int, int], sum: Sum, child: int,
             var: int) -> int:
        if var not in ones:
            domain = circuit.domains[var]
            if domain.size is None:
                raise TransformError(
                    f"smooth: cannot complete child #{child} of {node_name(sum)} with x{var}: "
                    f"it is {domain}, and no input is 1 on every value of a {domain} variable")
            ones[var] = out.input(var, "categorical", {"probs": np.ones((1, domain.size))})
        return ones[var]
