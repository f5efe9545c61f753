"""binarize: products and sums with more than two children become balanced binary trees of the
same kind (the form EiNet layers and structured vtrees want); the distribution is unchanged.

A product's children are split in two halves, each a product of its own (kronecker stays
row-major: the first child still varies slowest). A sum with weights W over children L + R
becomes a mixing sum over two sums: per unit k, a_k = sum of W[k, L], b_k = sum of W[k, R], and
the halves get the weights W[k, L] / a_k and W[k, R] / b_k (uniform where a_k = 0: its branch
then has weight 0). Each new sum is normalized when the old one was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcc.ir import Circuit, Product, Sum
from pcc.transforms.base import Emitter, PassReport, child_offsets


@dataclass(frozen=True)
class BinarizeReport(PassReport):
    groups_before: int
    groups_after: int
    products_split: int
    sums_split: int

    name: ClassVar[str] = "binarize"

    def text(self) -> str:
        return (f"binarize: {self.products_split} products and {self.sums_split} sums of fan-in "
                f"> 2 split, {self.groups_before} -> {self.groups_after} groups")


@dataclass(frozen=True)
class Binarize:
    name: ClassVar[str] = "binarize"

    def __call__(self, circuit: Circuit) -> tuple[Circuit, BinarizeReport]:
        out = Emitter(circuit.domains)
        new_id: list[int] = []
        products = sums = 0
        for g in circuit.groups:
            kids = [new_id[c] for c in g.children]
            if len(kids) <= 2:
                new_id.append(out.copy(g, kids))
            elif isinstance(g, Product):
                products += 1
                new_id.append(_product(out, kids, g.mode, g.origin))
            else:
                assert isinstance(g, Sum)
                sums += 1
                columns = (child_offsets(circuit, g) if g.mode == "dense"
                           else np.arange(len(kids) + 1))
                new_id.append(_sum(out, kids, np.asarray(g.weights), columns, g.mode, g.origin))
        result = out.build()
        return result, BinarizeReport(len(circuit), len(result), products, sums)


def _product(out: Emitter, kids: list[int], mode: str, origin: str | None) -> int:
    if len(kids) <= 2:
        return kids[0] if len(kids) == 1 else out.product(kids, mode, origin)
    half = len(kids) // 2
    return out.product([_product(out, kids[:half], mode, origin),
                        _product(out, kids[half:], mode, origin)], mode, origin)


def _sum(out: Emitter, kids: list[int], weights: np.ndarray, columns: np.ndarray, mode: str,
         origin: str | None) -> int:
    """A binary tree of sums over `kids`; child i owns weight columns columns[i]:columns[i+1]."""
    if len(kids) <= 2:
        return out.sum(kids, weights, mode, origin)
    half = len(kids) // 2
    cut = int(columns[half] - columns[0])
    parts = []
    for part, w, cols in ((kids[:half], weights[:, :cut], columns[:half + 1]),
                          (kids[half:], weights[:, cut:], columns[half:])):
        mass = w.sum(axis=1)
        safe = np.where(mass > 0, mass, 1.0)[:, None]
        scaled = np.where(mass[:, None] > 0, w / safe, 1.0 / w.shape[1])
        if len(part) == 1 and mode == "dense" and out.units(part[0]) == 1 and w.shape[0] == 1:
            parts.append((part[0], mass))  # one input of one unit: the weight moves up
            continue
        parts.append((_sum(out, part, scaled, cols, mode, origin), mass))
    top = np.stack([m for _, m in parts], axis=1)
    return out.sum([p for p, _ in parts], top, "mixing", origin)
