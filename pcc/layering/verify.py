"""Invariants of a layered plan, as a list of problems (empty when the plan is sound)."""

from __future__ import annotations

import numpy as np

from pcc.layering.plan import FIRST_FREE_COLUMN, LayeredCircuit
from pcc.layering.structure import sum_weights


def plan_problems(plan: LayeredCircuit) -> list[str]:
    """Every group in exactly one block; blocks write consecutive columns and read only columns
    written before them; padding within the budget; every sum weight read exactly once (an
    aliased identity sum's weights count as read)."""
    found: list[str] = []
    n = len(plan.circuit)
    seen = np.zeros(n, dtype=np.int64)
    reads = np.zeros(plan.num_weights, dtype=np.int64)
    column = FIRST_FREE_COLUMN
    last_depth = 0
    for i, block in enumerate(plan.blocks):
        name = f"block {i} ({block.op}, depth {block.depth})"
        np.add.at(seen, block.groups, 1)
        np.add.at(seen, block.fused, 1)
        np.add.at(seen, block.aliases, 1)
        inside = (plan.offsets[block.aliases] >= block.start) & \
            (plan.offsets[block.aliases] < block.stop)
        for g in block.aliases[~inside][:3]:
            found.append(f"{name}: alias #{g} reads column {plan.offsets[g]}, outside the block")
        for g in block.aliases[plan.weight_ptr[block.aliases] >= 0]:
            # an identity sum's weights are constants of the circuit, not read by any op
            start = plan.weight_ptr[g]
            reads[start:start + sum_weights(plan.circuit, g).size] += 1
        if block.start != column:
            found.append(f"{name}: writes from column {block.start}, expected {column}")
        column = block.stop
        if block.depth < last_depth:
            found.append(f"{name}: comes after a block of depth {last_depth}")
        last_depth = block.depth
        if np.any(plan.depths[block.groups] != block.depth):
            found.append(f"{name}: holds groups of another depth")
        if block.op != "input":
            for index in (block.index, block.index_b):
                if index is not None and index.size and (index.min() < 0 or index.max() >= block.start):
                    found.append(f"{name}: reads a column outside [0, {block.start})")
        if block.padding > plan.padding_budget + 1e-9:
            found.append(f"{name}: padding {block.padding:.3f} exceeds the budget "
                         f"{plan.padding_budget:.3f}")
        if block.weight_slots is not None:
            slots = block.weight_slots[block.weight_slots >= 0]
            np.add.at(reads, slots, 1)
    if column != plan.num_columns:
        found.append(f"blocks write {column} columns, the plan says {plan.num_columns}")
    for g in np.flatnonzero(seen != 1)[:10]:
        found.append(f"group #{g} is in {seen[g]} blocks, expected exactly 1")
    for w in np.flatnonzero(reads != 1)[:10]:
        found.append(f"weight slot {w} is read {reads[w]} times, expected exactly 1")
    return found
