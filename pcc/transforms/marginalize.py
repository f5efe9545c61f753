"""marginalize: the variables V summed out give a circuit over the others (renumbered in order)
with the same values: new(x_rest) = old(x) with x_V missing. Smooth, decomposable circuits only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit
from pcc.transforms.base import PassReport, TransformError
from pcc.transforms.reduce import reduce_circuit


@dataclass(frozen=True)
class MarginalizeReport(PassReport):
    variables: tuple[int, ...]
    vars_before: int
    vars_after: int
    groups_before: int
    groups_after: int
    # the input's ids of the remaining variables in their new order: new x_i is old x_kept[i]
    kept: tuple[int, ...] = ()

    name: ClassVar[str] = "marginalize"

    def text(self) -> str:
        shown = ", ".join(f"x{v}" for v in self.variables)
        return (f"marginalize: summed out {shown}; {self.vars_before} -> {self.vars_after} "
                f"variables, {self.groups_before} -> {self.groups_after} groups")


@dataclass(frozen=True)
class Marginalize:
    variables: tuple[int, ...] = ()

    name: ClassVar[str] = "marginalize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, MarginalizeReport]:
        if not self.variables:
            raise TransformError("marginalize: no variables given (marginalize:VAR:VAR...)")
        reduced, log_factor = reduce_circuit(circuit, {v: np.nan for v in self.variables},
                                             "marginalize")
        # a smooth, decomposable circuit's marginal constants are log 1 = 0 when normalized;
        # an unnormalized one keeps its value through the root's factor folded in below
        if log_factor != 0.0:
            from pcc.transforms.base import Emitter

            out = Emitter(reduced.domains)
            for g in reduced.groups:
                out.copy(g, g.children)
            root = reduced.groups[-1]
            out.sum([root.id], np.full((1, 1), np.exp(log_factor)) if root.units == 1
                    else np.eye(root.units) * np.exp(log_factor))
            reduced = out.build()
        kept = tuple(v for v in range(circuit.num_vars) if v not in self.variables)
        return reduced, MarginalizeReport(tuple(sorted(self.variables)), circuit.num_vars,
                                          reduced.num_vars, len(circuit), len(reduced), kept)


def parse_variables(args: list[str]) -> tuple[int, ...]:
    """`["2", "x4"]` -> (2, 4); a variable named twice is an error (likely a typo)."""
    try:
        out = tuple(int(a.strip().lstrip("x")) for a in args)
    except ValueError:
        raise TransformError(f"marginalize: cannot read variables {':'.join(args)!r}; "
                             "expected marginalize:3:5") from None
    twice = sorted({v for v in out if out.count(v) > 1})
    if twice:
        raise TransformError(f"marginalize: x{twice[0]} is named twice; name each variable "
                             "once")
    return out
