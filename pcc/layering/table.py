"""The plan as a table: one line per block with its op, groups, units, fan-in and padding share."""

from __future__ import annotations

import numpy as np

from pcc.layering.plan import LayeredCircuit


def format_plan(plan: LayeredCircuit, max_blocks: int | None = None) -> str:
    """A fixed-width table of the plan; `max_blocks` keeps the first and last blocks only."""
    circuit = plan.circuit
    units = np.array([g.units for g in circuit.groups], dtype=np.int64)
    depth = int(plan.depths.max(initial=0))
    fused = sum(len(b.fused) for b in plan.blocks)
    aliases = sum(len(b.aliases) for b in plan.blocks)
    lines = [f"plan: {len(circuit)} groups, {int(units.sum())} units, depth {depth} -> "
             f"{len(plan.blocks)} blocks over {plan.num_columns} columns "
             f"({fused} products fused into einsums, {aliases} identity groups aliased; "
             f"padding budget {plan.padding_budget:.0%})",
             f"{'block':>5} {'depth':>5}  {'op':<22} {'groups':>7} {'units':>7} {'rows':>8} "
             f"{'fan-in':>7} {'padding':>7}"]
    shown = list(enumerate(plan.blocks))
    skipped = 0
    if max_blocks is not None and len(shown) > max_blocks:
        half = max_blocks // 2
        skipped = len(shown) - 2 * half
        shown = shown[:half] + shown[-half:]
    for i, block in shown:
        if skipped and i == shown[len(shown) // 2][0]:
            lines.append(f"{'...':>5} ({skipped} more blocks)")
        op = f"input {block.family}" if block.op == "input" else block.op
        if block.index_b is not None:  # a kron block: pairs x (Ka x Kb)
            pairs = block.index.shape[1]
            op += f" {pairs}x({block.index.shape[2]}x{block.index_b.shape[2]})"
        u = units[block.groups]
        span = f"{u.min()}" if u.min() == u.max() else f"{u.min()}-{u.max()}"
        lines.append(f"{i:>5} {block.depth:>5}  {op:<22} {len(block.groups):>7} {span:>7} "
                     f"{block.rows:>8} {block.fan_in:>7} {block.padding:>7.1%}")
    return "\n".join(lines)
