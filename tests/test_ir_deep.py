"""Deep, narrow circuits (a Libra chain 10^5 sums deep): depths and scope rows past a few
hundred levels are computed in one pass over the groups instead of one round of numpy calls
per level, with the same results, in time linear in the circuit's size."""

from __future__ import annotations

import numpy as np
import pytest

import pcc.ir.table as table_module
from pcc.ir.table import depths, scope_bits, table_of
from tests.test_ir_bulk import random_dag


def _chain_ac(n: int) -> str:
    """A Libra AC: two indicators, then n sums, each of the previous sum and an indicator."""
    lines = ["(2)", "v 0 0", "v 0 1", "+ 0 1"]
    lines += [f"+ {k + 2} {k % 2}" for k in range(n - 1)]
    return "\n".join(lines + ["EOF"]) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_the_one_pass_depths_and_scopes_equal_the_level_rounds(seed: int,
                                                                monkeypatch) -> None:
    circuit = random_dag(seed, num_vars=70 + 30 * seed, inner=80)
    table = table_of(circuit.groups)
    by_levels = depths(table.ptr, table.child)
    bits_by_levels = scope_bits(table, circuit.num_vars, by_levels)
    monkeypatch.setattr(table_module, "_ROUNDS_BASE", -10**9)  # always one pass
    in_order = depths(table.ptr, table.child)
    assert in_order.dtype == by_levels.dtype and np.array_equal(in_order, by_levels)
    bits = scope_bits(table, circuit.num_vars, in_order)
    assert bits.dtype == np.uint64 and not bits.flags.writeable
    assert np.array_equal(bits, bits_by_levels)


def test_a_deep_chain_takes_the_one_pass_and_keeps_its_scopes() -> None:
    from pcc.frontends.libra_ac import load_libra_ac

    circuit = load_libra_ac("chain.ac", text=_chain_ac(3000))
    assert int(circuit.depths.max()) == 3000
    assert circuit.scope(len(circuit) - 1) == (0,)


def test_checking_a_chain_40000_sums_deep_takes_the_one_pass(monkeypatch) -> None:
    """check took 4.1 s of CPU on a 10^5 chain (a round of numpy calls per level in depths and
    scope_bits, ~40 us a level); the one pass takes ~6 us a group (measured, not asserted
    here: timings belong to benchmarks). 40,000 sums: the one pass must be what runs."""
    from pcc.analysis import check
    from pcc.frontends.libra_ac import load_libra_ac

    circuit = load_libra_ac("chain.ac", text=_chain_ac(40_000))
    circuit = type(circuit)(circuit.groups, circuit.domains)  # nothing cached yet
    calls = []
    one_pass = table_module._scope_bits_in_order
    monkeypatch.setattr(table_module, "_scope_bits_in_order",
                        lambda *args: calls.append(1) or one_pass(*args))
    report = check(circuit)
    assert report.smooth and report.decomposable
    assert calls, "the per-level rounds ran on a 40,000-deep chain"
