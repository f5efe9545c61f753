"""The one canonical text form of the IR, shared by `repr`, error messages, the CLI and golden tests.

    circuit over 2 variables: x0 binary, x1 real
      #0 = input bernoulli(x0) [2] p=[0.25, 0.75]
      #1 = input gaussian(x1) [2] mean=[0.0, 1.0] std=[1.0, 2.0]
      #2 = product kronecker(#0, #1) [4]
      #3 = sum dense(#2) [1] weights=[[0.1, 0.2, 0.3, 0.4]]
    root #3

`[k]` is the number of units. Arrays of up to `FULL_ARRAY` entries print in full with the
shortest float text that round-trips; larger ones print their shape and range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcc.ir.circuit import mask_to_vars
from pcc.ir.groups import Group, Input, Product

if TYPE_CHECKING:
    from pcc.ir.circuit import Circuit

FULL_ARRAY = 16
MAX_GROUPS = 200


def format_array(a: np.ndarray) -> str:
    if a.size > FULL_ARRAY:
        kind = "i64" if a.dtype.kind == "i" else "f64"
        shape = ",".join(str(s) for s in a.shape)
        return f"{kind}[{shape}] in [{_number(a.min())}, {_number(a.max())}]"
    return _nested(a.tolist())


def _nested(x: object) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(v) for v in x) + "]"
    return _number(x)


def _number(x: object) -> str:
    if isinstance(x, (int, np.integer)):
        return repr(int(x))
    return repr(float(x))  # type: ignore[arg-type]


def format_group(group: Group) -> str:
    """One line: `#id = kind mode(children) [units] fields`."""
    if isinstance(group, Input):
        fields = " ".join(f"{k}={format_array(v)}" for k, v in group.params.items())
        head = f"#{group.id} = input {group.family}(x{group.var}) [{group.units}] {fields}"
    else:
        children = ", ".join(f"#{c}" for c in group.children)
        head = f"#{group.id} = {group.kind} {group.mode}({children}) [{group.units}]"
        if not isinstance(group, Product):
            head += f" weights={format_array(group.weights)}"
    if group.origin:
        head += f"  # {group.origin}"
    return head


def format_header(circuit: Circuit) -> str:
    variables = ", ".join(f"x{v} {d}" for v, d in enumerate(circuit.domains[:20]))
    if circuit.num_vars > 20:
        variables += f", ... ({circuit.num_vars - 20} more)"
    return f"circuit over {circuit.num_vars} variables: {variables}"


def format_circuit(circuit: Circuit, max_groups: int | None = MAX_GROUPS) -> str:
    lines = [format_header(circuit)]
    groups = circuit.groups
    if max_groups is not None and len(groups) > max_groups:
        half = max_groups // 2
        lines += ["  " + format_group(g) for g in groups[:half]]
        lines.append(f"  ... {len(groups) - 2 * half} groups ...")
        lines += ["  " + format_group(g) for g in groups[-half:]]
    else:
        lines += ["  " + format_group(g) for g in groups]
    lines.append(f"root #{circuit.root.id}")
    return "\n".join(lines)


MAX_SHOWN_VARS = 24


def format_scope(mask: int, limit: int = MAX_SHOWN_VARS) -> str:
    """The variables of a scope bitmask, `{3,7}`; runs of three or more print as `a..b`
    (`{0..2,5,6}`); past `limit` runs the scope is cut short. The one scope text of pcc
    (analysis messages, region graphs, graphviz labels)."""
    variables = mask_to_vars(mask)
    parts: list[str] = []
    start = 0
    while start < len(variables):
        end = start
        while end + 1 < len(variables) and variables[end + 1] == variables[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{variables[start]}..{variables[end]}")
        else:
            parts.extend(str(v) for v in variables[start:end + 1])
        start = end + 1
    if len(parts) > limit:
        shown = ",".join(parts[:limit])
        return f"{{{shown},... ({len(variables)} variables)}}"
    return "{" + ",".join(parts) + "}"
