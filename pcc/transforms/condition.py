"""condition: evidence x_E = e gives the conditional circuit p(x_rest | e) over the other
variables (renumbered in order), normalized; the report gives log p(e). The circuit must be
smooth and decomposable (run smooth first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit
from pcc.transforms.base import PassReport, TransformError
from pcc.transforms.normalize import Normalize
from pcc.transforms.reduce import reduce_circuit


@dataclass(frozen=True)
class ConditionReport(PassReport):
    evidence: dict[int, float]
    log_evidence: float       # log p(e) (of the circuit's own mass when unnormalized)
    vars_before: int
    vars_after: int
    # the input's ids of the remaining variables in their new order: new x_i is old x_kept[i]
    kept: tuple[int, ...] = ()

    name: ClassVar[str] = "condition"

    def text(self) -> str:
        shown = ", ".join(f"x{v}={value:g}" for v, value in sorted(self.evidence.items()))
        return (f"condition: on {shown}: log p(e) = {self.log_evidence:.6g}; "
                f"{self.vars_before} -> {self.vars_after} variables")


@dataclass(frozen=True)
class Condition:
    evidence: dict[int, float] = field(default_factory=dict)

    name: ClassVar[str] = "condition"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, ConditionReport]:
        if not self.evidence:
            raise TransformError("condition: no evidence given (condition:VAR=VALUE:...)")
        for v, value in self.evidence.items():
            if 0 <= v < circuit.num_vars and circuit.domains[v].outside(
                    np.array([float(value)])).any():
                raise TransformError(f"condition: x{v}={value:g} is outside its domain "
                                     f"({circuit.domains[v]})")
        reduced, log_factor = reduce_circuit(circuit, dict(self.evidence), "condition")
        if not np.isfinite(log_factor):
            raise TransformError("condition: the evidence has probability 0; the conditional "
                                 "is undefined")
        normal, report = Normalize()(reduced)
        z = report.log_z if isinstance(report.log_z, float) else report.log_z[0]
        if not np.isfinite(z):
            raise TransformError("condition: the evidence has probability 0; the conditional "
                                 "is undefined")
        kept = tuple(v for v in range(circuit.num_vars) if v not in self.evidence)
        return normal, ConditionReport(dict(self.evidence), log_factor + z,
                                       circuit.num_vars, normal.num_vars, kept)


def parse_evidence(args: list[str]) -> dict[int, float]:
    """`["3=1", "x5=0"]` -> {3: 1.0, 5: 0.0}; a variable given twice is an error (which
    value was meant is a guess)."""
    out: dict[int, float] = {}
    for arg in args:
        var, _, value = arg.partition("=")
        try:
            v, number = int(var.strip().lstrip("x")), float(value)
        except ValueError:
            raise TransformError(f"condition: cannot read evidence {arg!r}; expected VAR=VALUE, "
                                 "e.g. condition:3=1:5=0") from None
        if not np.isfinite(number):  # NaN would mean "missing": marginalize, not condition
            raise TransformError(f"condition: x{v}={value.strip()} is not a value; to sum "
                                 f"x{v} out, use marginalize:{v}")
        if v in out:
            raise TransformError(f"condition: x{v} is given twice (x{v}={out[v]:g} and "
                                 f"x{v}={number:g}); give each variable one value")
        out[v] = number
    return out
