"""Vtrees: full binary trees whose leaves are the circuit's variables (structured decomposability).

Nodes are stored children-first in flat arrays: `left[i]`, `right[i]` (-1 for leaves) and
`var[i]` (-1 for inner nodes); the root is last. `masks[i]` is the variable bitmask below node i.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True, eq=False)
class Vtree:
    left: tuple[int, ...]
    right: tuple[int, ...]
    var: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.var)
        if not (len(self.left) == len(self.right) == n) or n == 0:
            raise ValueError("a vtree needs left, right and var of one equal, non-zero length")
        seen: set[int] = set()
        for i in range(n):
            if (self.left[i] < 0) != (self.right[i] < 0) or (self.left[i] < 0) == (self.var[i] < 0):
                raise ValueError(f"vtree node {i} must be a leaf (a var) or have two children")
            if self.left[i] >= 0 and not (self.left[i] < i and self.right[i] < i):
                raise ValueError(f"vtree node {i}: children must come before their parent")
            if self.var[i] >= 0:
                if self.var[i] in seen:
                    raise ValueError(f"vtree: variable x{self.var[i]} appears in two leaves")
                seen.add(self.var[i])
        if bin(self.masks[-1]).count("1") != len(seen):
            raise ValueError("vtree: some variables appear under two nodes")

    @staticmethod
    def from_nested(tree: object) -> Vtree:
        """From nested pairs of variables, e.g. `((0, 1), (2, 3))`."""
        left: list[int] = []
        right: list[int] = []
        var: list[int] = []

        def add(node: object) -> int:
            if isinstance(node, (tuple, list)):
                if len(node) != 2:
                    raise ValueError(f"vtree nodes are pairs, got {node!r}")
                a, b = add(node[0]), add(node[1])
                entry = (a, b, -1)
            else:
                entry = (-1, -1, int(node))  # type: ignore[call-overload]
            left.append(entry[0])
            right.append(entry[1])
            var.append(entry[2])
            return len(var) - 1

        add(tree)
        return Vtree(tuple(left), tuple(right), tuple(var))

    def to_nested(self, node: int | None = None) -> object:
        node = len(self.var) - 1 if node is None else node
        if self.var[node] >= 0:
            return self.var[node]
        return (self.to_nested(self.left[node]), self.to_nested(self.right[node]))

    @cached_property
    def masks(self) -> tuple[int, ...]:
        masks: list[int] = []
        for i in range(len(self.var)):
            masks.append(1 << self.var[i] if self.var[i] >= 0
                         else masks[self.left[i]] | masks[self.right[i]])
        return tuple(masks)

    @property
    def root(self) -> int:
        return len(self.var) - 1

    def lowest_covering(self, mask: int) -> int:
        """The deepest node whose variables include every variable of `mask` (mask non-empty)."""
        node = self.root
        while self.var[node] < 0:
            if mask & ~self.masks[self.left[node]] == 0:
                node = self.left[node]
            elif mask & ~self.masks[self.right[node]] == 0:
                node = self.right[node]
            else:
                return node
        return node

    def __str__(self) -> str:
        return str(self.to_nested()).replace(" ", "")

    @property
    def variables(self) -> np.ndarray:
        return np.array(sorted(v for v in self.var if v >= 0))
