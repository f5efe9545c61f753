"""Analyses never raise on well-formed but invalid circuits, and agree with set-based
definitions of smoothness and decomposability on random DAGs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pcc.analysis import check, format_report
from pcc.ir import BINARY, Circuit, CircuitBuilder


@st.composite
def random_dags(draw: st.DrawFn) -> Circuit:
    """Any children for any group (one unit each): smooth, decomposable or not."""
    n = draw(st.integers(1, 4))
    b = CircuitBuilder([BINARY] * n)
    for _ in range(draw(st.integers(1, 4))):
        v = draw(st.integers(0, n - 1))
        if draw(st.booleans()):
            b.indicator(v, value=draw(st.integers(0, 1)))
        else:
            b.bernoulli(v, p=draw(st.sampled_from([0.0, 0.3, 1.0])))
    for _ in range(draw(st.integers(0, 6))):
        kids = draw(st.lists(st.integers(0, len(b.groups) - 1), min_size=1, max_size=3))
        if draw(st.booleans()):
            b.product(kids)
        else:
            w = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=len(kids),
                                       max_size=len(kids))))
            b.sum(kids, weights=w)
    used = {c for g in b.groups for c in g.children}
    orphans = [g.id for g in b.groups if g.id not in used]
    if len(orphans) > 1:
        b.sum(orphans, weights=np.full(len(orphans), 1 / len(orphans)))
    return b.build()


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_check_agrees_with_set_definitions_and_never_raises(circuit):
    scopes = [set(circuit.scope(g.id)) for g in circuit.groups]
    not_smooth = [g.id for g in circuit.groups if g.kind == "sum"
                  and any(scopes[c] != scopes[g.children[0]] for c in g.children)]
    not_decomposable = [g.id for g in circuit.groups if g.kind == "product" and
                        sum(len(scopes[c]) for c in g.children) != len(scopes[g.id])]
    report = check(circuit)
    assert [v.node for v in report.of("smoothness")] == not_smooth
    assert [v.node for v in report.of("decomposability")] == not_decomposable
    assert report.valid == (not not_smooth and not not_decomposable)
    for v in report.violations:
        assert f"#{v.node} " in v.message and v.kind == circuit.groups[v.node].kind
        assert len(v.children) == len(v.scopes)
    format_report(report)
    report.to_json()


def test_tiny_and_odd_circuits():
    b = CircuitBuilder([BINARY, BINARY])
    b.bernoulli(1, p=0.5)
    report = check(b.build())  # one input, a variable outside the root's scope
    assert report.valid and report.deterministic == "yes" and report.stats["depth"] == 0
    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=[0.5, 0.5])
    b.sum([x], weights=[[0.0, 0.0]])  # a unit with no mass: not normalized, still analyzed
    report = check(b.build())
    assert report.normalized is False and report.deterministic == "yes"
