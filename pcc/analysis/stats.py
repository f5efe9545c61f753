"""Statistics of a circuit, as a JSON-ready dict (`stats`) and as text (`format_stats`).

Keys of the dict (stable; documented in docs/cli.md):
    groups          {"input", "product", "sum", "total"}: number of groups per kind
    units           {"input", "product", "sum", "total"}: number of units per kind
    modes           {"hadamard", "kronecker", "dense", "mixing"}: groups per mode
    families        {family: number of input groups}, for the families used
    edges           {"groups": child references, "units": unit-level edges (sums: non-zero
                    weights; products: units x children)}
    parameters      number of float parameters (sum weights and input parameters)
    depth           longest path from the root to an input
    max_fan_in      {"groups": most children of a group, "units": most inputs of one unit}
    variables       number of variables of the circuit
    variables_in_scope  number of variables in the root's scope
"""

from __future__ import annotations

from typing import Any

from pcc.analysis.rows import sum_rows
from pcc.ir import Circuit, Input, Sum

KINDS = ("input", "product", "sum")
MODES = ("hadamard", "kronecker", "dense", "mixing")


def stats(circuit: Circuit) -> dict[str, Any]:
    """The statistics above; per-group numpy work only, no per-unit Python."""
    groups = dict.fromkeys(KINDS, 0)
    units = dict.fromkeys(KINDS, 0)
    modes = dict.fromkeys(MODES, 0)
    families: dict[str, int] = {}
    group_edges = unit_edges = parameters = 0
    fan_in_groups = fan_in_units = 0
    for g in circuit.groups:
        groups[g.kind] += 1
        units[g.kind] += g.units
        if isinstance(g, Input):
            families[g.family] = families.get(g.family, 0) + 1
            parameters += sum(int(a.size) for a in g.params.values())
            continue
        modes[g.mode] += 1
        n = len(g.children)
        group_edges += n
        fan_in_groups = max(fan_in_groups, n)
        if isinstance(g, Sum):
            parameters += int(g.weights.size)
        else:
            unit_edges += g.units * n
            fan_in_units = max(fan_in_units, n)
    nonzero = sum_rows(circuit).nonzero  # per sum unit, all sums at once
    if nonzero.size:
        unit_edges += int(nonzero.sum())
        fan_in_units = max(fan_in_units, int(nonzero.max()))
    groups["total"], units["total"] = len(circuit), circuit.num_units
    return {
        "groups": groups, "units": units, "modes": modes,
        "families": dict(sorted(families.items())),
        "edges": {"groups": group_edges, "units": unit_edges},
        "parameters": parameters,
        "depth": int(circuit.depths.max()),
        "max_fan_in": {"groups": fan_in_groups, "units": fan_in_units},
        "variables": circuit.num_vars,
        "variables_in_scope": int(circuit.scope_masks[-1].bit_count()),
    }


def format_stats(s: dict[str, Any]) -> str:
    """A few aligned lines of text."""
    def per_kind(d: dict[str, int]) -> str:
        return f"{d['total']} ({', '.join(f'{d[k]} {k}' for k in KINDS)})"

    modes = ", ".join(f"{v} {k}" for k, v in s["modes"].items() if v)
    families = ", ".join(f"{k} {v}" for k, v in s["families"].items())
    rows = [
        ("groups", per_kind(s["groups"])),
        ("units", per_kind(s["units"])),
        ("modes", modes or "-"),
        ("families", families or "-"),
        ("edges", f"{s['edges']['groups']} between groups, {s['edges']['units']} between units"),
        ("parameters", str(s["parameters"])),
        ("depth", str(s["depth"])),
        ("max fan-in", f"{s['max_fan_in']['groups']} groups, {s['max_fan_in']['units']} units"),
        ("variables", f"{s['variables']} ({s['variables_in_scope']} in the root's scope)"),
    ]
    return "\n".join(f"{name + ':':<12}{value}" for name, value in rows)
