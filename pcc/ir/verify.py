"""Well-formedness of a circuit: ids, order, shapes, parameter values. Collects every problem."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pcc.ir.domains import Domain
from pcc.ir.families import FAMILIES
from pcc.ir.groups import Group, Input, Product, Sum


def problems(groups: Sequence[Group], domains: Sequence[Domain]) -> list[str]:
    """Every well-formedness problem of a circuit, each naming its group; empty when valid."""
    found: list[str] = []
    if not groups:
        return ["a circuit needs at least one group"]
    has_parent = np.zeros(len(groups), dtype=bool)
    for index, group in enumerate(groups):
        name = f"{group.kind} #{group.id}"
        if group.origin:
            name += f" ({group.origin})"
        if group.id != index:
            found.append(f"{name}: is at position {index}; ids must equal positions "
                         "(children before parents, root last)")
            continue
        bad_children = [c for c in group.children if not 0 <= c < index]
        if bad_children:
            found.append(_bad_children(name, index, len(groups), bad_children))
            continue
        has_parent[list(group.children)] = True
        if isinstance(group, Input):
            found += [f"{name}: {p}" for p in _input_problems(group, domains)]
        elif isinstance(group, Product):
            found += [f"{name}: {p}" for p in _product_problems(group, groups)]
        else:
            found += [f"{name}: {p}" for p in _sum_problems(group, groups)]
    orphans = np.flatnonzero(~has_parent[:-1])
    if len(orphans):
        ids = ", ".join(f"#{i}" for i in orphans[:10]) + (" ..." if len(orphans) > 10 else "")
        found.append(f"groups {ids} have no parent; only the root (the last group, "
                     f"#{len(groups) - 1}) may have none")
    return found


def _bad_children(name: str, index: int, count: int, bad: list[int]) -> str:
    child = bad[0]
    if child == index:
        why = "refers to itself (a cycle)"
    elif index < child < count:
        why = f"refers to #{child}, which comes later (a cycle or a forward reference)"
    else:
        why = f"refers to #{child}, which does not exist (dangling child id)"
    return f"{name}: child {why}"


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
