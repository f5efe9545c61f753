"""Statistics: exact numbers on a hand-made circuit, and totals on generated ones."""

from __future__ import annotations

from hypothesis import given, settings

from pcc.analysis import format_stats, stats
from pcc.ir import BINARY, REAL, CircuitBuilder
from tests.strategies import circuits


def test_stats_of_a_hand_made_circuit():
    b = CircuitBuilder([BINARY, REAL, BINARY])
    x = b.bernoulli(0, p=[0.25, 0.75])
    y = b.gaussian(1, mean=[0.0, 1.0], std=[1.0, 2.0])
    k = b.product([x, y], mode="kronecker")  # 4 units, 2 children
    s = b.sum([k], weights=[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.0, 0.0]])
    h = b.product([b.bernoulli(2, p=[0.5, 0.5]), s])  # hadamard, 2 units
    b.mixture([h, h], weights=[0.5, 0.5])
    s = stats(b.build())
    assert s == {
        "groups": {"input": 3, "product": 2, "sum": 2, "total": 7},
        "units": {"input": 6, "product": 6, "sum": 4, "total": 16},
        "modes": {"hadamard": 1, "kronecker": 1, "dense": 1, "mixing": 1},
        "families": {"bernoulli": 2, "gaussian": 1},
        "edges": {"groups": 7, "units": 8 + 6 + 4 + 4},
        "parameters": 2 + 4 + 2 + 8 + 4,
        "depth": 4,
        "max_fan_in": {"groups": 2, "units": 4},
        "variables": 3,
        "variables_in_scope": 3,
    }
    assert format_stats(s).splitlines() == [
        "groups:     7 (3 input, 2 product, 2 sum)",
        "units:      16 (6 input, 6 product, 4 sum)",
        "modes:      1 hadamard, 1 kronecker, 1 dense, 1 mixing",
        "families:   bernoulli 2, gaussian 1",
        "edges:      7 between groups, 22 between units",
        "parameters: 20",
        "depth:      4",
        "max fan-in: 2 groups, 4 units",
        "variables:  3 (3 in the root's scope)",
    ]


@settings(max_examples=30, deadline=None)
@given(circuits())
def test_stats_totals_agree_with_the_circuit(circuit):
    s = stats(circuit)
    assert s["groups"]["total"] == len(circuit) == sum(s["groups"][k] for k in
                                                        ("input", "product", "sum"))
    assert s["units"]["total"] == circuit.num_units
    assert s["edges"]["groups"] == sum(len(g.children) for g in circuit.groups)
    assert s["depth"] == int(circuit.depths[-1])
    assert s["variables_in_scope"] == len(circuit.scope(circuit.root.id))
