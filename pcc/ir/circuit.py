"""`Circuit`: an immutable, topologically ordered tuple of groups (root last) over typed variables."""

from __future__ import annotations

from functools import cached_property
from typing import Iterator, Sequence

import numpy as np

from pcc.ir.domains import Domain
from pcc.ir.errors import InvalidCircuitError
from pcc.ir.groups import Group
from pcc.ir.table import GroupTable, depths, scope_bits, table_of
from pcc.ir.verify import problems


class Circuit:
    """A probabilistic circuit. `groups[i].id == i`; children come before parents; the last
    group is the root. Scopes, depths and parents are derived on first use and cached.

    Construction verifies well-formedness and raises `InvalidCircuitError` naming every problem.
    Validity as a PC (smoothness, decomposability) is a separate question: see `pcc.analysis`.
    """

    __slots__ = ("groups", "domains", "__dict__")

    def __init__(self, groups: Sequence[Group], domains: Sequence[Domain],
                 table: GroupTable | None = None):
        """`table`: the groups' `GroupTable`, when the caller made the groups from one (the
        bulk constructors of `pcc.ir.bulk`); it must describe exactly `groups`."""
        self.groups: tuple[Group, ...] = tuple(groups)
        self.domains: tuple[Domain, ...] = tuple(domains)
        if table is not None:
            if len(table) != len(self.groups):
                raise ValueError(f"the table has {len(table)} rows for {len(self.groups)} groups")
            self.__dict__["table"] = table
        self.verify()

    def verify(self) -> None:
        """Raise `InvalidCircuitError` listing every well-formedness problem."""
        found = problems(self.groups, self.domains, self.table)
        if found:
            raise InvalidCircuitError(found)

    @cached_property
    def table(self) -> GroupTable:
        """The groups as flat numpy columns (`pcc.ir.table`)."""
        return table_of(self.groups)

    # -- structure -------------------------------------------------------------------------
    @property
    def root(self) -> Group:
        return self.groups[-1]

    @property
    def num_vars(self) -> int:
        return len(self.domains)

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self) -> Iterator[Group]:
        return iter(self.groups)

    def __getitem__(self, id: int) -> Group:
        return self.groups[id]

    @cached_property
    def scope_masks(self) -> tuple[int, ...]:
        """Each group's scope as a bitmask (bit v set = variable v in scope): one int per group."""
        masks: list[int] = []
        for group in self.groups:
            if group.kind == "input":
                masks.append(1 << group.var)  # type: ignore[union-attr]
            else:
                mask = 0
                for child in group.children:
                    mask |= masks[child]
                masks.append(mask)
        return tuple(masks)

    def scope(self, id: int) -> tuple[int, ...]:
        """The sorted variables of group `id`."""
        return mask_to_vars(self.scope_masks[id])

    @cached_property
    def depths(self) -> np.ndarray:
        """Longest path from a group down to an input (inputs have depth 0)."""
        depth = depths(self.table.ptr, self.table.child)
        depth.setflags(write=False)
        return depth

    @cached_property
    def scope_bits(self) -> np.ndarray:
        """`scope_masks` as a read-only (groups, words) uint64 array: bit v of row g (word
        v // 64, bit v % 64) is set when variable v is in the scope of group g."""
        return scope_bits(self.table, self.num_vars, self.depths)

    @cached_property
    def parents(self) -> tuple[tuple[int, ...], ...]:
        """The parents of every group, in increasing id order."""
        parents: list[list[int]] = [[] for _ in self.groups]
        for group in self.groups:
            for child in group.children:
                parents[child].append(group.id)
        return tuple(tuple(p) for p in parents)

    @cached_property
    def num_units(self) -> int:
        return sum(g.units for g in self.groups)

    # -- text ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        from pcc.ir.text import format_circuit

        return format_circuit(self)


def mask_to_vars(mask: int) -> tuple[int, ...]:
    """The variables whose bits are set in `mask`, ascending."""
    if mask == 0:
        return ()
    nbytes = (mask.bit_length() + 7) // 8
    bits = np.unpackbits(np.frombuffer(mask.to_bytes(nbytes, "little"), dtype=np.uint8),
                         bitorder="little")
    return tuple(int(v) for v in np.flatnonzero(bits))


def vars_to_mask(variables: Sequence[int]) -> int:
    mask = 0
    for v in variables:
        mask |= 1 << int(v)
    return mask
