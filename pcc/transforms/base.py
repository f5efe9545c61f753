"""What every pass shares: the error a pass raises when it cannot apply, the report base, and a
small emitter that renumbers groups as they are written (children before parents, root last).

A pass is a frozen dataclass whose fields are its options; calling it on a `Circuit` returns
`(Circuit, report)` and never touches its input (groups are immutable).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from pcc.ir import Circuit, Group, Input, Product, PccError, Sum
from pcc.ir.domains import Domain


class TransformError(PccError):
    """A pass cannot apply to this circuit (the message names the pass and the node)."""


@dataclass(frozen=True)
class PassReport:
    """Base of the reports: `text()` is the one line the CLI prints, `to_json()` its fields."""

    name: ClassVar[str] = "pass"

    def text(self) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pass": self.name}
        for key, value in asdict(self).items():
            out[key] = float(value) if isinstance(value, np.floating) else value
        return out


def node_name(group: Group) -> str:
    """`sum #12 (file.psdd:40)`: how errors name a group."""
    text = f"{group.kind} #{group.id}"
    return f"{text} ({group.origin})" if group.origin else text


class Emitter:
    """Collects new groups with consecutive ids; `build()` makes the circuit (root = last)."""

    def __init__(self, domains: Sequence[Domain]):
        self.domains = tuple(domains)
        self.groups: list[Group] = []

    @property
    def next(self) -> int:
        return len(self.groups)

    def units(self, id: int) -> int:
        return self.groups[id].units

    def input(self, var: int, family: str, params: dict[str, np.ndarray],
              origin: str | None = None) -> int:
        units = int(next(iter(params.values())).shape[0])
        self.groups.append(Input(self.next, units, var, family, params, origin))
        return self.next - 1

    def product(self, children: Sequence[int], mode: str = "hadamard",
                origin: str | None = None) -> int:
        sizes = [self.units(c) for c in children]
        units = int(np.prod(sizes)) if mode == "kronecker" else sizes[0]
        self.groups.append(Product(self.next, units, tuple(children), mode, origin))
        return self.next - 1

    def sum(self, children: Sequence[int], weights: np.ndarray, mode: str = "dense",
            origin: str | None = None) -> int:
        weights = np.asarray(weights, dtype=np.float64)
        self.groups.append(Sum(self.next, weights.shape[0], tuple(children), weights, mode,
                               origin))
        return self.next - 1

    def copy(self, group: Group, children: Sequence[int]) -> int:
        """`group` with new child ids (and the next id)."""
        from pcc.ir.builder import renumber

        self.groups.append(renumber(group, self.next, children))
        return self.next - 1

    def build(self) -> Circuit:
        """The circuit of the groups reachable from the last one, renumbered."""
        from pcc.ir import CircuitBuilder

        builder = CircuitBuilder(list(self.domains))
        builder.groups = self.groups
        return builder.build()


def child_offsets(circuit: Circuit, group: Group) -> np.ndarray:
    """Start of each child's units among the concatenated inputs of a dense sum (+ the end)."""
    sizes = [circuit.groups[c].units for c in group.children]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def dense_weights(circuit: Circuit, group: Sum) -> np.ndarray:
    """A sum's weights as a dense (units, total child units) matrix (mixing sums expanded)."""
    if group.mode == "dense":
        return np.asarray(group.weights)
    k = group.units
    out = np.zeros((k, k * len(group.children)))
    for i in range(len(group.children)):
        out[np.arange(k), i * k + np.arange(k)] = group.weights[:, i]
    return out
