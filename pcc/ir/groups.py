"""The three node kinds of the IR. A group is a vector of `units` nodes of one kind over one scope.

Groups are immutable: their arrays are copied and made read-only. Constructors check what a group
can check alone (types, array ranks, the `units` axis); `Circuit` checks what needs its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Union

import numpy as np

from pcc.families.table import FAMILIES

PRODUCT_MODES = ("hadamard", "kronecker")
SUM_MODES = ("dense", "mixing")


def frozen_array(values: object, dtype: type = np.float64) -> np.ndarray:
    """A read-only copy of `values` as an array of `dtype`."""
    array: np.ndarray = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


def _check_common(kind: str, id: int, units: int) -> None:
    if not isinstance(id, (int, np.integer)) or id < 0:
        raise ValueError(f"{kind} group id must be a non-negative int, got {id!r}")
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise ValueError(f"{kind} #{id}: units must be an int >= 1, got {units!r}")


@dataclass(frozen=True, eq=False, repr=False)
class Input:
    """`units` distributions of one `family` over variable `var`; params have a leading units axis."""

    id: int
    units: int
    var: int
    family: str
    params: Mapping[str, np.ndarray]
    origin: str | None = field(default=None, compare=False)

    kind: ClassVar[str] = "input"
    children: ClassVar[tuple[int, ...]] = ()

    def __post_init__(self) -> None:
        _check_common("input", self.id, self.units)
        if self.family not in FAMILIES:
            raise ValueError(f"input #{self.id}: unknown family {self.family!r}; "
                             f"known: {', '.join(FAMILIES)}")
        fam = FAMILIES[self.family]
        missing = set(fam.param_names) - set(self.params)
        extra = set(self.params) - set(fam.param_names)
        if missing or extra:
            raise ValueError(f"input #{self.id} ({self.family}): expected parameters "
                             f"{', '.join(fam.param_names)}, got {', '.join(sorted(self.params))}")
        params = {}
        for name, trailing in fam.params:
            dtype = np.int64 if name in fam.integer_params else np.float64
            raw = np.asarray(self.params[name])
            if dtype is np.int64 and raw.size and (raw.dtype.kind == "f") and \
                    not np.all(np.isfinite(raw) & (raw == np.round(raw))):
                raise ValueError(f"input #{self.id} ({self.family}): {name} must hold integers")
            array = frozen_array(raw, dtype)
            if array.ndim != 1 + trailing or array.shape[0] != self.units:
                want = "(units,)" if trailing == 0 else "(units, k)"
                raise ValueError(f"input #{self.id} ({self.family}): {name} has shape "
                                 f"{array.shape}, expected {want} with units={self.units}")
            params[name] = array
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "var", int(self.var))


@dataclass(frozen=True, eq=False, repr=False)
class Product:
    """hadamard: unit k multiplies unit k of every child; kronecker: one unit per combination
    of child units, the first child varying slowest (row-major)."""

    id: int
    units: int
    children: tuple[int, ...]
    mode: str = "hadamard"
    origin: str | None = field(default=None, compare=False)

    kind: ClassVar[str] = "product"

    def __post_init__(self) -> None:
        _check_common("product", self.id, self.units)
        if self.mode not in PRODUCT_MODES:
            raise ValueError(f"product #{self.id}: mode must be hadamard or kronecker, "
                             f"got {self.mode!r}")
        object.__setattr__(self, "children", tuple(int(c) for c in self.children))


@dataclass(frozen=True, eq=False, repr=False)
class Sum:
    """dense: weights (units, total child units), unit k = sum_j w[k, j] * (concatenated child
    units)[j]; mixing: weights (units, n_children), unit k = sum_i w[k, i] * child_i unit k."""

    id: int
    units: int
    children: tuple[int, ...]
    weights: np.ndarray
    mode: str = "dense"
    origin: str | None = field(default=None, compare=False)

    kind: ClassVar[str] = "sum"

    def __post_init__(self) -> None:
        _check_common("sum", self.id, self.units)
        if self.mode not in SUM_MODES:
            raise ValueError(f"sum #{self.id}: mode must be dense or mixing, got {self.mode!r}")
        object.__setattr__(self, "children", tuple(int(c) for c in self.children))
        weights = frozen_array(self.weights)
        if weights.ndim != 2 or weights.shape[0] != self.units:
            raise ValueError(f"sum #{self.id}: weights have shape {weights.shape}, expected "
                             f"(units={self.units}, number of inputs)")
        object.__setattr__(self, "weights", weights)


Group = Union[Input, Product, Sum]
