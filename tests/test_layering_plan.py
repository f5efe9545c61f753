"""Layering: plan invariants on random circuits, the bucketing rule, fusion and the table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.ir import BINARY, REAL, CircuitBuilder
from pcc.layering import NEG_INF_COLUMN, ZERO, format_plan, layer, plan_problems
from pcc.layering.buckets import buckets
from tests.strategies import circuits
from tests.torch_helpers import kron_circuits


def assert_sound(plan) -> None:
    assert plan_problems(plan) == []
    circuit = plan.circuit
    producer = np.full(plan.num_columns, -1)
    for i, block in enumerate(plan.blocks):
        producer[block.start:block.stop] = i
    for i, block in enumerate(plan.blocks):
        if block.op == "input":
            continue
        # every child (or, for a fused product, every grandchild) is written by an earlier block
        for g in list(block.groups) + list(block.fused):
            for c in circuit.groups[g].children:
                if c in block.fused:
                    continue
                start = plan.offsets[c]
                assert start >= 0 and producer[start] < i, (g, c)
        reads = np.concatenate([block.index.ravel()] +
                               ([block.index_b.ravel()] if block.index_b is not None else []))
        real = reads[(reads != ZERO) & (reads != NEG_INF_COLUMN)]
        assert np.all(producer[real] < i) and np.all(producer[real] >= 0)
        if block.op in ("sum", "dense"):
            pads = block.weight_slots < 0
            index = block.index if block.op == "sum" else \
                np.broadcast_to(block.index[:, None, :], block.weight_slots.shape)
            assert np.all(index[pads] == NEG_INF_COLUMN)


@settings(max_examples=60)
@given(circuits(max_units=4), st.sampled_from([0.0, 0.1, 0.25, 0.6]), st.booleans())
def test_every_plan_is_sound(circuit, budget, fuse):
    plan = layer(circuit, padding=budget, fuse=fuse)
    assert_sound(plan)
    assert all(b.padding <= budget + 1e-12 for b in plan.blocks)
    if not fuse:
        assert all(b.op != "kron" for b in plan.blocks)


@settings(max_examples=20)
@given(kron_circuits())
def test_fused_products_get_no_columns(circuit):
    plan = layer(circuit)
    assert_sound(plan)
    fused = np.concatenate([b.fused for b in plan.blocks])
    assert len(fused) and np.all(plan.offsets[fused] == -1)
    assert all(circuit.groups[p].kind == "product" for p in fused)
    materialized = sum(circuit.groups[g].units for g in range(len(circuit)) if plan.offsets[g] >= 0)
    assert plan.num_columns == 2 + materialized


def test_the_bucketing_rule_keeps_padding_within_the_budget():
    fan_in = np.array([4, 8, 1, 7, 8, 2, 4])
    got = buckets(np.arange(7), fan_in, np.ones(7, dtype=np.int64), 0.25)
    assert [(list(fan_in[g]), w) for g, w in got] == [([8, 8, 7, 4, 4], 8), ([2, 1], 2)]
    exact = buckets(np.arange(7), fan_in, np.ones(7, dtype=np.int64), 0.0)
    assert [w for _, w in exact] == [8, 7, 4, 2, 1]


def test_rows_weigh_in_the_padding_share():
    # one group of 10 units with fan-in 2 would waste 60% of a width-5 bucket
    got = buckets(np.arange(2), np.array([5, 2]), np.array([1, 10]), 0.25)
    assert [w for _, w in got] == [5, 2]


def test_a_layer_of_equal_fan_in_is_one_block():
    b = CircuitBuilder([BINARY] * 64)
    leaves = [b.bernoulli(v, 0.5) for v in range(64)]
    products = [b.product(leaves[i:i + 2]) for i in range(0, 64, 2)]
    b.sum(products, weights=np.full(32, 1 / 32))
    plan = layer(b.build())
    assert [blk.op for blk in plan.blocks] == ["input", "product", "sum"]
    assert plan.blocks[1].index.shape == (32, 2)


def test_the_plan_is_frozen():
    plan = layer(example())
    with pytest.raises(ValueError):
        plan.blocks[-1].index[0, 0] = 3
    with pytest.raises(AttributeError):
        plan.blocks[-1].start = 3


def example():
    b = CircuitBuilder([BINARY, BINARY, REAL])
    x0 = b.bernoulli(0, p=[0.25, 0.75])
    x1 = b.categorical(1, probs=[[0.5, 0.5], [0.1, 0.9]])
    x2 = b.gaussian(2, mean=[0.0, 1.0], std=[1.0, 2.0])
    r1 = b.sum([b.product([x0, x1], mode="kronecker")], weights=np.full((2, 4), 0.25))
    top = b.sum([b.product([r1, x2], mode="kronecker")], weights=np.full((1, 4), 0.25))
    sparse = b.sum([b.product([b.indicator(0, 1), b.indicator(1, 0), b.gaussian(2, 0.0, 1.0)]),
                    b.product([b.indicator(0, 0), b.bernoulli(1, 0.5), b.gaussian(2, 1.0, 1.0)])],
                   weights=[0.5, 0.5])
    identity = b.sum([b.product([sparse])], weights=[1.0])  # two identities: no op, no columns
    b.sum([top, identity], weights=[0.5, 0.5])
    return b.build()


GOLDEN_TABLE = """\
plan: 19 groups, 29 units, depth 3 -> 9 blocks over 21 columns (2 products fused into einsums, 2 identity groups aliased; padding budget 25%)
block depth  op                      groups   units     rows  fan-in padding
    0     0  input bernoulli              2     1-2        3       1    0.0%
    1     0  input categorical            1       2        2       1    0.0%
    2     0  input indicator              3       1        3       1    0.0%
    3     0  input gaussian               3     1-2        4       1    0.0%
    4     1  product                      2       1        2       3    0.0%
    5     1  kron 1x(2x2)                 1       2        2       4    0.0%
    6     2  sum                          1       1        1       2    0.0%
    7     2  kron 1x(2x2)                 1       1        1       4    0.0%
    8     3  sum                          1       1        1       2    0.0%"""


def test_the_plan_table_is_pinned():
    plan = layer(example())
    assert format_plan(plan) == GOLDEN_TABLE
    assert repr(plan) == GOLDEN_TABLE


def test_a_long_table_can_be_cut_short():
    b = CircuitBuilder([BINARY])
    node = b.bernoulli(0, 0.5)
    for _ in range(30):
        node = b.sum([node], weights=[1.0])
    text = format_plan(layer(b.build(), alias=False), max_blocks=6)
    assert "(25 more blocks)" in text and len(text.splitlines()) == 2 + 6 + 1


def test_a_bad_budget_is_refused():
    with pytest.raises(ValueError, match=r"padding budget must be in \[0, 1\)"):
        layer(example(), padding=1.0)
