"""Well-formedness of a circuit: ids, order, shapes, parameter values. Collects every problem,
each a `Problem` record naming its group."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.ir.domains import Domain
from pcc.ir.errors import Problem
from pcc.families.table import FAMILIES
from pcc.ir.groups import Group, Input, Product, Sum
from pcc.ir.table import DENSE, HADAMARD, INPUT, KRONECKER, MIXING, GroupTable, table_of


def problems(groups: Sequence[Group], domains: Sequence[Domain],
             table: GroupTable | None = None) -> list[Problem]:
    """Every well-formedness problem of a circuit, each naming its group; empty when valid.

    A vectorized screen over the groups' `table` (made here unless given) finds the suspects
    (and every input); only those get the detailed per-group checks that write the messages,
    so large valid circuits verify fast.
    """
    if not groups:
        return [Problem("a circuit needs at least one group")]
    n = len(groups)
    suspects, has_parent = _screen(table if table is not None else table_of(groups))
    found: list[Problem] = []
    for index in np.flatnonzero(suspects).tolist():
        found += _group_problems(index, groups[index], groups, domains)
    orphans = np.flatnonzero(~has_parent[:-1])
    if len(orphans):
        ids = ", ".join(f"#{i}" for i in orphans[:10]) + (" ..." if len(orphans) > 10 else "")
        found.append(Problem(f"groups {ids} have no parent; only the root (the last group, "
                             f"#{n - 1}) may have none"))
    return found


def _screen(t: GroupTable) -> tuple[np.ndarray, np.ndarray]:
    """Groups that may have a problem (a superset: every input is checked in full), and which
    groups have a parent, from numpy arrays over all groups and edges."""
    n = len(t)
    ids, units, kind, flat = t.ids, t.units, t.code, t.child
    counts = t.nchild
    owner = t.owner

    suspects = (ids != np.arange(n)) | (kind == INPUT) | ((counts == 0) & (kind != INPUT))
    bad_edge = (flat < 0) | (flat >= owner)
    suspects[owner[bad_edge]] = True
    has_parent = np.zeros(n, dtype=bool)
    has_parent[flat[~bad_edge]] = True

    child_units = units[np.clip(flat, 0, n - 1)]
    same_units = (kind[owner] == HADAMARD) | (kind[owner] == MIXING)
    suspects[owner[same_units & (child_units != units[owner])]] = True
    kron = np.flatnonzero(kind == KRONECKER)
    if len(kron):  # the product of child units, in floating point only to screen
        log_units = np.bincount(owner, weights=np.log(np.maximum(child_units, 1)), minlength=n)
        suspects[kron[np.abs(np.exp(log_units[kron]) - units[kron]) > 0.5]] = True
    sums = np.flatnonzero(kind >= DENSE)
    if len(sums):
        width = np.bincount(owner, weights=child_units, minlength=n).astype(np.int64)
        expected = np.where(kind[sums] == DENSE, width[sums], counts[sums])
        shapes = t.shape[sums]
        suspects[sums[(shapes[:, 0] != units[sums]) | (shapes[:, 1] != expected)]] = True
        values = t.weights
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            suspects[np.repeat(sums, shapes.prod(axis=1))[bad]] = True
    return suspects, has_parent


def _group_problems(index: int, group: Group, groups: Sequence[Group],
                    domains: Sequence[Domain]) -> list[Problem]:
    """The problems of the group at `index`, as records of its position (its id may be wrong)."""
    name = f"{group.kind} #{group.id}"
    if group.origin:
        name += f" ({group.origin})"
    if group.id != index:
        found = [f"is at position {index}; ids must equal positions "
                 "(children before parents, root last)"]
    elif bad_children := [c for c in group.children if not 0 <= c < index]:
        found = [_bad_children(index, len(groups), bad_children)]
    elif isinstance(group, Input):
        found = _input_problems(group, domains)
    elif isinstance(group, Product):
        found = _product_problems(group, groups)
    else:
        found = _sum_problems(group, groups)
    return [Problem(f"{name}: {text}", index, group.kind) for text in found]


def _bad_children(index: int, count: int, bad: list[int]) -> str:
    child = bad[0]
    if child == index:
        why = "refers to itself (a cycle)"
    elif index < child < count:
        why = f"refers to #{child}, which comes later (a cycle or a forward reference)"
    else:
        why = f"refers to #{child}, which does not exist (dangling child id)"
    return f"child {why}"


def _input_problems(group: Input, domains: Sequence[Domain]) -> list[str]:
    if not 0 <= group.var < len(domains):
        return [f"variable x{group.var} is out of range (the circuit has {len(domains)} variables)"]
    domain = domains[group.var]
    fam = FAMILIES[group.family]
    if domain.kind not in fam.domains:
        return [f"a {group.family} input cannot model x{group.var}, which is {domain}"]
    return fam.check(dict(group.params), domain)


def _product_problems(group: Product, groups: Sequence[Group]) -> list[str]:
    if not group.children:
        return ["a product needs at least one child"]
    units = [groups[c].units for c in group.children]
    if group.mode == "hadamard" and any(u != group.units for u in units):
        return [f"hadamard product of {group.units} units has children with units {units}"]
    if group.mode == "kronecker" and int(np.prod(units)) != group.units:
        return [f"kronecker product has {group.units} units, but its children's units "
                f"{units} multiply to {int(np.prod(units))}"]
    return []


def _sum_problems(group: Sum, groups: Sequence[Group]) -> list[str]:
    if not group.children:
        return ["a sum needs at least one child"]
    units = [groups[c].units for c in group.children]
    found = []
    if group.mode == "dense":
        expected = (group.units, sum(units))
    else:
        expected = (group.units, len(units))
        if any(u != group.units for u in units):
            found.append(f"mixing sum of {group.units} units has children with units {units}")
    if group.weights.shape != expected:
        found.append(f"weights have shape {group.weights.shape}, expected {expected}")
    w = group.weights
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        found.append(f"weights must be finite and >= 0, got {w[at].item()!r} at {list(at)}")
    return found
