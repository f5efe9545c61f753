"""The determinism check: "yes" on deterministic circuits (literal and SDD-like decisions),
"unknown" on a plain mixture, and sound: whenever it says "yes", enumeration agrees."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.analysis import determinism
from pcc.backends.reference import evaluate
from pcc.ir import BINARY, Circuit, CircuitBuilder, Sum, categorical
from tests import analysis_circuits as make
from tests.strategies import DISCRETE_DOMAINS, all_assignments, circuits


def deterministic_by_enumeration(circuit: Circuit) -> bool:
    """Every sum unit has at most one child unit with non-zero weight and non-zero value,
    on every complete assignment."""
    values = evaluate(circuit, all_assignments(circuit))
    for g in circuit.groups:
        if not isinstance(g, Sum):
            continue
        alive = [np.isfinite(values[c]) for c in g.children]  # (rows, child units)
        for u in range(g.units):
            if g.mode == "dense":
                active = np.concatenate(alive, axis=1)[:, g.weights[u] != 0]
            else:
                active = np.stack([a[:, u] for a in alive], axis=1)[:, g.weights[u] != 0]
            if np.any(active.sum(axis=1) > 1):
                return False
    return True


def test_decision_trees_over_literals_are_deterministic():
    circuit = make.decision_tree(4)
    assert determinism(circuit).deterministic == "yes"
    assert deterministic_by_enumeration(circuit)


def test_sdd_like_decisions_with_non_literal_primes_are_deterministic():
    circuit = make.sdd_like()
    report = determinism(circuit)
    assert report.deterministic == "yes" and report.determinism_unproved is None
    assert deterministic_by_enumeration(circuit)


def test_a_plain_mixture_is_unknown_and_names_the_sum():
    report = determinism(make.plain_mixture())
    assert report.deterministic == "unknown"
    assert report.determinism_unproved.node == 6
    assert report.determinism_unproved.message == (
        "sum #6 unit 0: children #2 unit 0 and #5 unit 0 not proved disjoint")


def test_zero_weights_and_units_count():
    """Children with zero weight do not matter; in a dense sum each unit is proved apart."""
    b = CircuitBuilder([BINARY, BINARY])
    x = b.indicator(0, value=[0, 1, 1])
    y = b.bernoulli(1, p=[0.5, 0.5, 0.5])
    p = b.product([x, y])  # units: [x0=0], [x0=1], [x0=1]
    ok = b.sum([p], weights=[[0.5, 0.5, 0.0], [0.0, 0.3, 0.0]])
    assert determinism(b.build(ok)).deterministic == "yes"
    b.sum([p], weights=[[0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])  # the built circuit drops `ok`
    report = determinism(b.build())
    assert report.deterministic == "unknown"
    assert report.determinism_unproved.message == (
        "sum #3 unit 1: children #2 unit 1 and #2 unit 2 not proved disjoint")


def test_the_budget_gives_up_with_unknown():
    circuit = make.decision_tree(6)
    assert determinism(circuit).deterministic == "yes"
    report = determinism(circuit, budget=3)
    assert report.deterministic == "unknown"
    assert "gave up after 3 steps" in report.determinism_unproved.message


@st.composite
def decisions(draw: st.DrawFn) -> Circuit:
    """Random deterministic circuits: sums decide a variable's value sets (primes are
    indicators, one-hot categoricals or sums of indicators); products join independent parts."""
    n = draw(st.integers(1, 4))
    domains = draw(st.lists(st.one_of(st.just(BINARY), st.integers(2, 4).map(categorical)),
                            min_size=n, max_size=n))
    b = CircuitBuilder(domains)

    def literal_set(v: int, values: list[int]) -> int:
        size = domains[v].size
        if len(values) == 1 and draw(st.booleans()):
            return b.categorical(v, probs=np.eye(size)[values[0]])
        kids = [b.indicator(v, value=x) for x in values]
        return kids[0] if len(kids) == 1 else b.sum(kids, weights=np.full(len(kids),
                                                                          1 / len(kids)))

    def node(scope: list[int]) -> int:
        if len(scope) > 1 and draw(st.booleans()):
            cut = draw(st.integers(1, len(scope) - 1))
            return b.product([node(scope[:cut]), node(scope[cut:])])
        v = scope[0]
        size = domains[v].size
        labels = draw(st.lists(st.integers(0, 2), min_size=size, max_size=size))
        groups = [[x for x in range(size) if labels[x] == k] for k in range(3)]
        groups = [g for g in groups if g]
        kids = []
        for g in groups:
            prime = literal_set(v, g)
            kids.append(b.product([prime, node(scope[1:])]) if len(scope) > 1 else prime)
        return b.sum(kids, weights=np.full(len(kids), 1 / len(kids)))

    node(list(range(n)))
    return b.build()


@settings(max_examples=40, deadline=None)
@given(decisions())
def test_random_decisions_are_proved_deterministic(circuit):
    assert determinism(circuit).deterministic == "yes"
    assert deterministic_by_enumeration(circuit)


@settings(max_examples=40, deadline=None)
@given(circuits(domains=DISCRETE_DOMAINS))
def test_yes_is_sound_on_random_circuits(circuit):
    if determinism(circuit).deterministic == "yes":
        assert deterministic_by_enumeration(circuit)


def test_two_long_chains_that_differ_at_the_end_are_proved_quickly():
    """Products pair their children by scope: linear work, not quadratic, along chains."""
    import time

    n = 2000
    b = CircuitBuilder([BINARY] * n)
    tops = []
    for last in (0, 1):
        acc = b.indicator(n - 1, value=last)
        for v in reversed(range(n - 1)):
            acc = b.product([b.bernoulli(v, p=0.5), acc])
        tops.append(acc)
    b.sum(tops, weights=[0.5, 0.5])
    start = time.perf_counter()
    assert determinism(b.build(), budget=20 * n).deterministic == "yes"
    assert time.perf_counter() - start < 5
