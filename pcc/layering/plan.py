"""The layered plan: a frozen list of blocks over one activation buffer, ready for a backend.

The buffer has one column per unit of every materialized group (a backend may store it
transposed). Column `ZERO` holds log 1 = 0 and column `NEG_INF_COLUMN` holds log 0 = -inf:
they are what padded slots read. Blocks are listed in an order that respects dependencies
(inputs first, then by depth), and block `b` writes the contiguous columns `[b.start, b.stop)`.

Block ops and the shape of their index arrays (`rows` = output units, `F` = padded fan-in):

| op        | index                  | weight_slots          | value of output row r |
|-----------|------------------------|-----------------------|-----------------------|
| `input`   | (rows,) variable       | -                     | log p_family(x_var)   |
| `product` | (rows, F)              | -                     | sum_f buf[index[r,f]] |
| `sum`     | (rows, F)              | (rows, F)             | logsumexp_f(buf[index[r,f]] + log w[r,f]) |
| `dense`   | (G, F) per group       | (G, K, F)             | log sum_f w[g,k,f] exp(buf[index[g,f]]) |
| `kron`    | (G, P, Ka), index_b (G, P, Kb) | (G, K, P, Ka, Kb) | log sum_pij w exp(a_pi + b_pj) |

`weight_slots` are flat positions in the concatenation of every sum group's raveled weight
matrix (in group order, see `weight_ptr`); -1 marks a padded slot (weight 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pcc.ir import Circuit

ZERO = 0
NEG_INF_COLUMN = 1
FIRST_FREE_COLUMN = 2

OPS = ("input", "product", "sum", "dense", "kron")


@dataclass(frozen=True, eq=False)
class Block:
    """Groups of one depth that one tensor op evaluates together."""

    op: str
    depth: int
    groups: np.ndarray              # ids of the groups whose units this block writes
    start: int                      # first output column
    stop: int                       # one past the last output column
    index: np.ndarray               # see the table in the module docstring
    index_b: np.ndarray | None = None
    weight_slots: np.ndarray | None = None
    family: str | None = None       # input blocks only
    units: int = 0                  # K for dense/kron blocks; 0 when rows are flattened units
    fan_in: int = 0                 # padded fan-in F (kron: P * Ka * Kb)
    padding: float = 0.0            # share of padded slots among all input slots
    fused: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # identity groups that read this block's columns and need no op (pcc.layering.aliases)
    aliases: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        for name in ("groups", "index", "index_b", "weight_slots", "fused", "aliases"):
            array = getattr(self, name)
            if array is not None:
                array.setflags(write=False)  # the plan is a frozen value

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, eq=False)
class LayeredCircuit:
    """A circuit split into blocks; `offsets[g]` is the first column of group g (-1: fused;
    an alias's offset is its target's)."""

    circuit: Circuit
    blocks: tuple[Block, ...]
    offsets: np.ndarray
    depths: np.ndarray
    weight_ptr: np.ndarray
    num_columns: int
    num_weights: int
    padding_budget: float

    def __post_init__(self) -> None:
        for array in (self.offsets, self.depths, self.weight_ptr):
            array.setflags(write=False)

    @property
    def root_columns(self) -> tuple[int, int]:
        root = self.circuit.root
        start = int(self.offsets[root.id])
        return start, start + root.units

    @property
    def num_inputs(self) -> int:
        """Columns written by input blocks (they follow the two constant columns)."""
        return sum(b.rows for b in self.blocks if b.op == "input")

    def __repr__(self) -> str:
        from pcc.layering.table import format_plan

        return format_plan(self)
