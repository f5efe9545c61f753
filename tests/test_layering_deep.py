"""Blocks of one one-unit group (every level of a deep, narrow circuit: a Libra chain 10^5
sums deep is 10^5 blocks) are made directly, with the same arrays as the general path."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.ir import Circuit
from pcc.layering import layer
from tests.strategies import circuits
from tests.test_ir_bulk import random_dag
from tests.test_ir_deep import _chain_ac

layer_module = importlib.import_module("pcc.layering.layer")  # `pcc.layering.layer` is also
# the function's name in the package
FIELDS = ("op", "depth", "groups", "start", "stop", "index", "index_b", "weight_slots",
          "family", "units", "fan_in", "padding", "fused", "aliases")


def _both_ways(circuit: Circuit, monkeypatch: pytest.MonkeyPatch, **options: object) -> None:
    fast = layer(circuit, **options)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(layer_module, "SINGLE_UNIT_PATH", False)
        general = layer(circuit, **options)  # type: ignore[arg-type]
    assert len(fast.blocks) == len(general.blocks)
    assert np.array_equal(fast.offsets, general.offsets)
    for a, b in zip(fast.blocks, general.blocks):
        for name in FIELDS:
            x, y = getattr(a, name), getattr(b, name)
            if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
                assert x is not None and y is not None and x.dtype == y.dtype, (name, x, y)
                assert np.array_equal(x, y), (name, a.op, x, y)
            else:
                assert x == y, (name, x, y)


@settings(max_examples=60, deadline=None)
@given(circuits(max_vars=5, max_units=2), st.sampled_from([0.0, 0.25]), st.booleans())
def test_single_unit_blocks_equal_the_general_path(circuit: Circuit, budget: float,
                                                   fuse: bool) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _both_ways(circuit, monkeypatch, padding=budget, fuse=fuse)


@pytest.mark.parametrize("seed", range(4))
def test_single_unit_blocks_of_random_dags(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _both_ways(random_dag(seed), monkeypatch)


def test_a_chain_is_layered_one_block_per_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """~170 us a level before (dozens of numpy calls per one-group block), about 35 us with the
    direct one-unit blocks (measured, not asserted: timings belong to benchmarks); 20,000
    sums, every level's block made directly."""
    from pcc.frontends.libra_ac import load_libra_ac
    layer_module = importlib.import_module("pcc.layering.layer")

    circuit = load_libra_ac("chain.ac", text=_chain_ac(20_000))
    made = []
    direct = layer_module._Builder._single_unit
    monkeypatch.setattr(layer_module._Builder, "_single_unit",
                        lambda self, *args: made.append(1) or direct(self, *args))
    plan = layer(circuit)
    monkeypatch.undo()
    assert len(plan.blocks) == 20_001
    assert len(made) >= 20_000
    _both_ways(load_libra_ac("chain.ac", text=_chain_ac(300)), monkeypatch)
