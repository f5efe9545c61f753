"""The columnar IR: `GroupTable`, the bulk constructor, and everything computed from the table
(depths, scope rows, the analysis screens, the layering's fused depths) against plain Python
loops over the groups, on random circuits (valid ones, and random DAGs that are neither smooth
nor decomposable, over more than 64 variables)."""

from __future__ import annotations

import dataclasses
import functools
import operator

import numpy as np
import pytest
from hypothesis import given, settings

from pcc.analysis import decomposability, screen, smoothness
from pcc.analysis.decomposability import overlapping
from pcc.ir import (BINARY, Circuit, CircuitBuilder, Input, InvalidCircuitError, Product, Sum,
                    mask_to_vars)
from pcc.ir.bulk import circuit_from_table, group_table
from pcc.ir.table import DENSE, HADAMARD, INPUT, MIXING, bits_to_mask, table_of
from pcc.layering.structure import fused_depths, structure
from tests.helpers import assert_same_circuit
from tests.strategies import circuits


def random_dag(seed: int, num_vars: int = 70, inner: int = 60) -> Circuit:
    """Inputs over every variable, then products and sums of random earlier groups (repeats
    allowed): most are neither smooth nor decomposable."""
    rng = np.random.default_rng(seed)
    b = CircuitBuilder([BINARY] * num_vars)
    for v in range(num_vars):
        b.bernoulli(v, p=[0.5])
    for _ in range(inner):
        kids = rng.integers(0, len(b.groups), size=int(rng.integers(1, 4))).tolist()
        if rng.random() < 0.5:
            b.product(kids)
        else:
            b.sum(kids, weights=np.full(len(kids), 1.0 / len(kids)))
    b.sum(list(range(len(b.groups))), weights=np.full(len(b.groups), 1.0 / len(b.groups)))
    return b.build()


def rebuilt(circuit: Circuit) -> Circuit:
    """`circuit` made again by the bulk constructor from its own table."""
    t = circuit.table
    inputs = [g for g in circuit.groups if isinstance(g, Input)]
    cols = t.shape[:, 1]
    table = group_table(t.code, t.units, t.ptr, t.child, t.weights, cols=cols)
    return circuit_from_table(table, inputs, circuit.domains, [g.origin for g in circuit])


@settings(max_examples=40, deadline=None)
@given(circuits())
def test_bulk_constructor_rebuilds_every_circuit(circuit: Circuit) -> None:
    again = rebuilt(circuit)
    assert_same_circuit(again, circuit)
    for g, h in zip(again.groups, circuit.groups):
        assert set(vars(g)) == {f.name for f in dataclasses.fields(type(h))}  # no extra field
        assert type(g.children) is tuple and all(type(c) is int for c in g.children)
        if isinstance(g, Sum):
            assert not g.weights.flags.writeable and g.weights.dtype == np.float64
    assert np.array_equal(again.depths, circuit.depths)


def test_table_of_a_handmade_circuit() -> None:
    b = CircuitBuilder([BINARY, BINARY])
    x, y = b.bernoulli(0, p=[0.2, 0.3]), b.bernoulli(1, p=[0.4, 0.5])
    prod = b.product([x, y], mode="kronecker")
    mix = b.mixture([x, x], weights=[0.5, 0.5])
    b.sum([prod, mix], weights=np.full((1, 6), 1 / 6))
    t = b.build().table
    assert t.code.tolist() == [INPUT, INPUT, 2, MIXING, DENSE]
    assert t.units.tolist() == [2, 2, 4, 2, 1] and t.var.tolist() == [0, 1, -1, -1, -1]
    assert t.ptr.tolist() == [0, 0, 0, 2, 4, 6] and t.child.tolist() == [0, 1, 0, 0, 2, 3]
    assert t.shape.tolist() == [[0, 0], [0, 0], [0, 0], [2, 2], [1, 6]]
    assert t.weight_ptr.tolist() == [-1, -1, -1, 0, 4] and len(t.weights) == 10


@pytest.mark.parametrize("seed", range(6))
def test_depths_and_scopes_match_python_loops(seed: int) -> None:
    circuit = random_dag(seed)
    depth = [0] * len(circuit)
    masks: list[int] = []
    for g in circuit.groups:
        depth[g.id] = 1 + max(depth[c] for c in g.children) if g.children else 0
        masks.append(1 << g.var if isinstance(g, Input) else
                     functools.reduce(operator.or_, [masks[c] for c in g.children]))
    assert circuit.depths.tolist() == depth
    assert [bits_to_mask(row) for row in circuit.scope_bits] == masks
    assert circuit.scope_bits.shape == (len(circuit), 2)  # 70 variables: two words


def _reference_reports(circuit: Circuit) -> tuple[list[int], list[int]]:
    masks = circuit.scope_masks
    unsmooth = [g.id for g in circuit.groups if isinstance(g, Sum)
                and len({masks[c] for c in g.children}) > 1]
    overlapping_ids = [g.id for g in circuit.groups if isinstance(g, Product)
                       and overlapping(g.children, masks)[0]]
    return unsmooth, overlapping_ids


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fits", [True, False])
def test_scope_screens_find_exactly_the_violations(seed: int, fits: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if not fits:  # the fallback: every group a suspect, the exact checks decide
        monkeypatch.setattr(screen, "MAX_WORDS", 0)
    circuit = random_dag(seed)
    unsmooth, overlaps = _reference_reports(circuit)
    assert unsmooth and overlaps  # the random DAGs do exercise both
    assert [v.node for v in smoothness(circuit).violations] == unsmooth
    assert [v.node for v in decomposability(circuit).violations] == overlaps
    for v in smoothness(circuit).violations + decomposability(circuit).violations:
        assert v.scopes == tuple(circuit.scope_masks[c] for c in v.children)


def test_layering_fused_depths_match_a_python_loop() -> None:
    b = CircuitBuilder([BINARY] * 4)
    x = [b.bernoulli(v, p=[0.2, 0.7]) for v in range(4)]
    left = b.sum([b.product([x[0], x[1]], mode="kronecker")], weights=np.full((2, 4), 0.25))
    right = b.sum([b.product([x[2], x[3]], mode="kronecker")], weights=np.full((2, 4), 0.25))
    top = b.product([left, right], mode="kronecker")
    b.sum([top], weights=np.full((1, 4), 0.25))
    circuit = b.build()
    s = structure(circuit)
    fused_into = np.full(len(circuit), -1)
    fused_into[[4, 6, 8]] = [5, 7, 9]         # every kronecker product fused into its sum
    depth = [0] * len(circuit)
    for g in circuit.groups:
        kids = [cc for c in g.children for cc in (circuit[c].children if fused_into[c] >= 0
                                                   else (c,))]
        depth[g.id] = 1 + max(depth[c] for c in kids) if kids else 0
    for p in (4, 6, 8):
        depth[p] = depth[fused_into[p]]
    assert fused_depths(s, fused_into).tolist() == depth == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]


def test_bulk_problems_are_the_per_group_messages() -> None:
    inputs = [Input(0, 1, 0, "bernoulli", {"p": [0.5]}), Input(1, 1, 1, "bernoulli", {"p": [0.5]})]
    code = np.array([INPUT, INPUT, HADAMARD, DENSE])
    ptr = np.array([0, 0, 0, 2, 4])
    for child, weights in [([0, 1, 2, 5], [-0.5, 1.0]), ([0, 1, 2, 0], [np.nan, 1.0])]:
        table = group_table(code, [1, 1, 1, 1], ptr, child, weights, cols=np.array([0, 0, 0, 2]))
        groups = inputs + [Product(2, 1, (0, 1)), Sum(3, 1, tuple(child[2:]), [weights])]
        with pytest.raises(InvalidCircuitError) as expected:
            Circuit(groups, [BINARY, BINARY])
        with pytest.raises(InvalidCircuitError) as got:
            circuit_from_table(table, inputs, [BINARY, BINARY])
        assert got.value.problems == expected.value.problems
        assert got.value.problems[0].startswith("sum #3:")


def test_bulk_field_errors_name_the_group() -> None:
    inputs = [Input(0, 1, 0, "bernoulli", {"p": [0.5]})]
    ptr = np.array([0, 0, 1])
    with pytest.raises(ValueError, match=r"^product #1: units must be an int >= 1, got 0$"):
        circuit_from_table(group_table([INPUT, HADAMARD], [1, 0], ptr, [0], []), inputs,
                           [BINARY])
    with pytest.raises(ValueError, match=r"^group #1: op code 7 is not one of 0..4$"):
        circuit_from_table(group_table([INPUT, 7], [1, 1], ptr, [0], []), inputs, [BINARY])
    with pytest.raises(ValueError, match=r"weight matrices hold 1 values, 2 given"):
        group_table([INPUT, DENSE], [1, 1], ptr, [0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"1 input rows and 0 inputs"):
        circuit_from_table(group_table([INPUT, HADAMARD], [1, 1], ptr, [0], []), [], [BINARY])


def test_table_of_reads_malformed_groups_without_failing() -> None:
    groups = [Input(0, 1, 0, "bernoulli", {"p": [0.5]}), Sum(1, 1, (0, 9), [[0.5, 0.5, 0.0]])]
    t = table_of(groups)
    assert t.child.tolist() == [0, 9] and t.shape[1].tolist() == [1, 3]
    assert mask_to_vars(bits_to_mask(np.array([5, 1], dtype=np.uint64))) == (0, 2, 64)
