"""The structure policy of `pcc train`: which region graph, which leaf family and which domains
a circuit learned from a data table gets.

    spec = StructureSpec("rat", units=16)
    circuit = circuit_for_data(spec, train)          # train: (rows, variables), NaN = missing

Leaves and domains come from the data: whole numbers >= 0 get bernoulli leaves over binary
variables when they are 0/1, binomial leaves over 0..max otherwise (pixels); anything else gets
gaussian leaves over the reals. Options a structure does not use are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pcc.ir import BINARY, Circuit, DataError, Domain, categorical
from pcc.regions.build import build_circuit
from pcc.regions.chain import linear_chain
from pcc.regions.graph import RegionGraph
from pcc.regions.hclt import hclt
from pcc.regions.poon_domingos import poon_domingos
from pcc.regions.quad_tree import quad_tree
from pcc.regions.random_binary import random_binary_trees

STRUCTURES = ("rat", "pd", "qt", "hclt", "chain")
IMAGE_STRUCTURES = ("pd", "qt")


@dataclass(frozen=True)
class StructureSpec:
    """A region-graph circuit to learn: the structure and its options."""

    structure: str
    units: int
    input_units: int | None = None       # units per leaf (default: `units`)
    leaf: str | None = None              # default: from the data (see the module doc)
    sum_product: str | None = None       # default: cp for hclt and chain, else tucker
    depth: int | None = None             # rat: split depth (default: from the variables)
    repetitions: int = 10                # rat
    deltas: tuple[int, ...] = (7,)       # pd: cut steps
    shape: tuple[int, ...] | None = None  # pd, qt: image shape (default: the data's)
    splits: int = 2                      # qt: patch splits
    seed: int = 0

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {self.structure!r}")


def leaves_for_data(train: np.ndarray, leaf: str | None = None
                    ) -> tuple[str, list[Domain] | None]:
    """(leaf family, domains or None for real variables) that fit the observed values of
    `train`; `leaf` overrides the family, and a bernoulli leaf on data above 1 is an error."""
    observed = train[~np.isnan(train)]
    top = int(observed.max()) if observed.size else 1
    if np.any(observed != np.round(observed)) or np.any(observed < 0):
        return leaf or "gaussian", None
    family = leaf or ("bernoulli" if top <= 1 else "binomial")
    if family == "bernoulli" and top > 1:
        raise DataError(f"bernoulli leaves need 0/1 data, the training data reach {top}")
    size = 2 if top <= 1 else top + 1
    return family, [BINARY if size == 2 else categorical(size)] * train.shape[1]


def region_graph(spec: StructureSpec, train: np.ndarray,
                 shape: Sequence[int] | None = None) -> RegionGraph:
    """The region graph of `spec` over the variables of `train` (hclt learns it from the
    rows; pd and qt need an image `shape`, from `spec.shape` or the data file)."""
    num_vars = train.shape[1]
    image = spec.shape or (tuple(shape) if shape is not None else None)
    if spec.structure in IMAGE_STRUCTURES:
        if image is None or int(np.prod(image)) != num_vars:
            raise DataError(f"--structure {spec.structure} needs an image shape with {num_vars} "
                            "pixels (--shape HxW)")
        if spec.structure == "pd":
            return poon_domingos(image, list(spec.deltas))
        return quad_tree(image, spec.splits)
    if spec.structure == "rat":
        depth = spec.depth or max(1, min(5, int(np.log2(max(num_vars, 2)))))
        return random_binary_trees(num_vars, depth, spec.repetitions, seed=spec.seed)
    if spec.structure == "hclt":
        return hclt(train)
    return linear_chain(num_vars)


def circuit_for_data(spec: StructureSpec, train: np.ndarray,
                     shape: Sequence[int] | None = None) -> Circuit:
    """The circuit `spec` describes, built for the variables and values of `train`."""
    leaf, domains = leaves_for_data(train, spec.leaf)
    graph = region_graph(spec, train, shape)
    default_sp = "cp" if spec.structure in ("hclt", "chain") else "tucker"
    return build_circuit(graph, units=spec.units, input_units=spec.input_units, leaf=leaf,
                         sum_product=spec.sum_product or default_sp, seed=spec.seed,
                         domains=domains, cp_leaf_sums=spec.structure != "hclt")
